-- A store as parity made it before its schema had migrations: the DDL that release's create_all
-- emitted (`git show 99e91fa:src/parity/store.py`), with the three words SQLite and PostgreSQL spell
-- differently as {serial}, {timestamp} and {blob}. The columns added since the first release are
-- missing from experiments and case_results; below the cut (>8), the ALTERs with which that release's
-- _add_missing_columns added them at every open.
CREATE TABLE adapters (
	name VARCHAR(200) NOT NULL,
	created_at {timestamp} NOT NULL,
	finished_at {timestamp},
	recipe VARCHAR(16) NOT NULL,
	base VARCHAR(500) NOT NULL,
	base_identity VARCHAR(100) NOT NULL,
	dataset_fingerprint VARCHAR(64),
	options JSON NOT NULL,
	curves JSON NOT NULL,
	status VARCHAR(16) NOT NULL,
	path TEXT NOT NULL,
	train_s FLOAT,
	summary JSON NOT NULL,
	PRIMARY KEY (name)
);
CREATE TABLE analyses (
	id {serial} NOT NULL,
	created_at {timestamp} NOT NULL,
	kind VARCHAR(32) NOT NULL,
	ruler_fingerprint VARCHAR(64) NOT NULL,
	params JSON NOT NULL,
	columns JSON NOT NULL,
	rows JSON NOT NULL,
	findings JSON NOT NULL,
	png {blob} NOT NULL,
	svg TEXT NOT NULL,
	PRIMARY KEY (id)
);
CREATE TABLE ceilings (
	id {serial} NOT NULL,
	ruler_fingerprint VARCHAR(64) NOT NULL,
	gate VARCHAR(64) NOT NULL,
	quality FLOAT NOT NULL,
	ci_low FLOAT NOT NULL,
	ci_high FLOAT NOT NULL,
	summary JSON NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (ruler_fingerprint, gate)
);
CREATE TABLE datasets (
	id {serial} NOT NULL,
	created_at {timestamp} NOT NULL,
	name VARCHAR(200) NOT NULL,
	kind VARCHAR(32) NOT NULL,
	fingerprint VARCHAR(64) NOT NULL,
	n_rows INTEGER NOT NULL,
	path TEXT NOT NULL,
	provenance JSON NOT NULL,
	PRIMARY KEY (id)
);
CREATE INDEX ix_datasets_name ON datasets (name);
CREATE INDEX ix_datasets_fingerprint ON datasets (fingerprint);
CREATE TABLE experiments (
	id {serial} NOT NULL,
	created_at {timestamp} NOT NULL,
	finished_at {timestamp},
	ruler_fingerprint VARCHAR(64) NOT NULL,
	gate VARCHAR(64) NOT NULL,
	agent_name VARCHAR(200) NOT NULL,
	agent_source VARCHAR(500),
	agent_config JSON NOT NULL,
	model_identity VARCHAR(200) NOT NULL,
	hypothesis TEXT NOT NULL,
	status VARCHAR(16) NOT NULL,
	verdict VARCHAR(16),
	decision TEXT,
	quality FLOAT,
	ci_low FLOAT,
	ci_high FLOAT,
	ceiling FLOAT,
	summary JSON,
	cost_usd FLOAT NOT NULL,
	wall_s FLOAT,
	judge_noise JSON,
	PRIMARY KEY (id)
);
CREATE INDEX ix_experiments_ruler_fingerprint ON experiments (ruler_fingerprint);
CREATE TABLE loop_trials (
	id {serial} NOT NULL,
	created_at {timestamp} NOT NULL,
	finished_at {timestamp},
	loop VARCHAR(200) NOT NULL,
	proposer VARCHAR(32) NOT NULL,
	worker VARCHAR(200) NOT NULL,
	hypothesis TEXT NOT NULL,
	lever VARCHAR(32) NOT NULL,
	patch JSON NOT NULL,
	config JSON NOT NULL,
	config_hash VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	screen_experiment_id INTEGER,
	decide_experiment_id INTEGER,
	verdict VARCHAR(16),
	reason TEXT,
	optuna_trial INTEGER,
	PRIMARY KEY (id),
	UNIQUE (loop, config_hash)
);
CREATE INDEX ix_loop_trials_loop ON loop_trials (loop);
CREATE TABLE ruler_copies (
	fingerprint VARCHAR(64) NOT NULL,
	created_at {timestamp} NOT NULL,
	files JSON NOT NULL,
	PRIMARY KEY (fingerprint)
);
CREATE TABLE case_results (
	id {serial} NOT NULL,
	experiment_id INTEGER NOT NULL,
	case_id VARCHAR(200) NOT NULL,
	ruler_fingerprint VARCHAR(64) NOT NULL,
	answer JSON,
	raw_text TEXT NOT NULL,
	answer_error TEXT,
	prompt_tokens INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	latency_s FLOAT NOT NULL,
	finish_reason VARCHAR(16) NOT NULL,
	cached BOOLEAN NOT NULL,
	cost_usd FLOAT NOT NULL,
	judge VARCHAR(200) NOT NULL,
	judgment_status VARCHAR(16) NOT NULL,
	scores JSON NOT NULL,
	overall FLOAT,
	verdict VARCHAR(8),
	notes JSON NOT NULL,
	reason TEXT,
	agent_failed BOOLEAN NOT NULL,
	quality FLOAT,
	judge_calls JSON,
	judge_cost_usd FLOAT NOT NULL,
	position_consistent BOOLEAN,
	PRIMARY KEY (id),
	UNIQUE (experiment_id, case_id),
	FOREIGN KEY(experiment_id) REFERENCES experiments (id)
);
CREATE INDEX ix_case_results_experiment_id ON case_results (experiment_id);
-- >8 --
ALTER TABLE experiments ADD COLUMN "method" TEXT;
ALTER TABLE experiments ADD COLUMN "agent_code" TEXT;
ALTER TABLE experiments ADD COLUMN "config_diff" JSON;
ALTER TABLE experiments ADD COLUMN "pipeline_svg" TEXT;
ALTER TABLE experiments ADD COLUMN "git_commit" VARCHAR(80);
ALTER TABLE experiments ADD COLUMN "screened_by" INTEGER;
ALTER TABLE case_results ADD COLUMN "trace" JSON;
