-- Run once by the postgres image on an empty data volume: a second database for the tracking
-- server's backend store (the first, POSTGRES_DB=optuna, holds the Optuna studies).
CREATE DATABASE mlflow OWNER deepsweep;
