"""What the user asked for, validated: the config schema, the task vocabulary and the datasets."""
