"""The names the records share: Optuna trial and study attributes, and MLflow run tags.

Several modules write and read each of these (the objective writes ``mlflow_run_id``, the recovery, the summary
and the sweep read it); a typo in a bare string would silently break reconciliation, so every module uses these
constants. The values are the stored names and never change: old studies and runs are read with them.
"""

# Optuna trial user attributes
RUN_ID_ATTR = "mlflow_run_id"  # the trial's MLflow run
OUTCOME_ATTR = "outcome"  # how the trial ended: pipeline.search.outcomes.Outcome's label
FAILURE_ATTR = "failure_reason"  # why it failed (also a run tag of the same name)
SEED_ATTR = "train_seed"  # the trial's initialization and batching seed (a retry inherits it)
WORKER_ATTR = "worker"  # host:pid of the process running it
# when that process started (records.locks.process_started): a restarted machine or container reuses pids
WORKER_STARTED_ATTR = "worker_started"
RETRY_OF_ATTR = "retry_of"  # the trial a retried trial repeats
SEED_VALUES_ATTR = "seed_values"  # search.repeats: the first objective per seed
BIAS_VARIANCE_ATTR = "bias_variance"  # a complete trial's train and val error, avoidable bias, variance, reference

# Optuna study user attributes
PARENT_ATTR = "mlflow_parent_run_id"  # the study's parent run
DATA_SOURCE_ATTR = "data_source"  # the file (or dataset) a study was created from, to name it when it changes
SETTINGS_ATTR = "deepsweep_settings"  # what the study's results depend on (resume refuses other settings)
STOPPED_ATTR = "stopped_early"  # why search.patience ended the study (also a parent-run tag)

# MLflow run tags
KIND_TAG = "kind"  # study, trial or train
STUDY_TAG = "study_name"
TRIAL_NUMBER_TAG = "trial_number"
TRIAL_STATE_TAG = "trial_state"  # the trial's Optuna state (PRUNED, FAIL, ...)
OUTCOME_TAG = OUTCOME_ATTR
FAILURE_TAG = FAILURE_ATTR
RETRY_OF_TAG = "retry_of_trial"
PRUNED_AT_TAG = "pruned_at_epoch"
REGISTERED_TAG = "registered_version"  # the Model Registry version made from the run
BEST_TRIAL_TAG = "best_trial_number"  # on the parent run
BEST_RUN_TAG = "best_run_id"  # on the parent run
HOST_TAG = "host"  # with PID_TAG and PID_STARTED_TAG: the process writing the run
PID_TAG = "pid"
PID_STARTED_TAG = "pid_started"

# The local stores every command uses by default (conf/tracking/local.yaml says the same; a test holds them equal).
DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
DEFAULT_STORAGE = "sqlite:///mlruns/optuna.db"
