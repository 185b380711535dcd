"""The text of each command's ``--help`` page, shown through Hydra's help template (``conf/hydra/help``).

``register_help`` installs the ``deepsweep_help`` resolver the template calls with the command's name.
"""

from omegaconf import OmegaConf

HELP = {
    "sweep": """python -m pipeline.sweep: an Optuna study over the configured search space; every trial is an
MLflow run (parameters, per-epoch costs and accuracies, test metrics, trained parameters, the exact
config). At the end: a study report (HTML), the leaderboard, the best model registered.
Running the same command again resumes the study until search.n_trials trials are done.

Examples:
  python -m pipeline.sweep                                   # digits, 40 trials, sampler and pruner auto
  python -m pipeline.sweep search.n_trials=80                # resume and run 40 more
  python -m pipeline.sweep dataset=breast_cancer search=extended sampler=random
  python -m pipeline.sweep search.workers=2 pruner=hyperband train.epochs=100
  python -m pipeline.sweep '+search.space.l2={type:float,low:1e-5,high:1,log:true}' study_name=with-l2
  python -m pipeline.sweep 'search.metric=[val_accuracy,n_parameters]' study_name=small   # a Pareto front
  python -m pipeline.sweep search.repeats=3 study_name=three-seeds   # each trial the mean of 3 seeds
  python -m pipeline.sweep 'search.constraints={n_parameters:{max:3000}}' study_name=small-nets   # a limit
  python -m pipeline.sweep search.refine_from=digits-sweep study_name=digits-fine   # coarse to fine

Exit codes: 0 done, 1 refused input or no trial completed, 130 Ctrl-C, 143 SIGTERM.""",
    "train": """python -m pipeline.train: train one network from the composed config and record one MLflow run
(the same records as a sweep trial).

Examples:
  python -m pipeline.train                                   # digits, [64, 32] ReLU, Adam
  python -m pipeline.train dataset=breast_cancer model.hidden_units=[20,7,5] train.learning_rate=0.05
  python -m pipeline.train model=logistic dataset=iris       # no hidden layer
  python -m pipeline.train train.optimizer=momentum train.batch_size=32 train.epochs=200
  python -m pipeline.train experiment=course_cat_4layer dataset.path=../shared/data/course

Exit codes: 0 done, 1 refused input or training failed, 130 Ctrl-C, 143 SIGTERM.""",
}


def _help(command: str) -> str:
    return HELP.get(command, f"python -m pipeline.{command}")


def register_help() -> None:
    """Install the resolver the help template uses (idempotent)."""
    if not OmegaConf.has_resolver("deepsweep_help"):
        OmegaConf.register_new_resolver("deepsweep_help", _help)
