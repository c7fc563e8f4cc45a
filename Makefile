# make run  — the whole local stack in the foreground (Ctrl-C stops it)
# make test — lint, type-check and every test (unit, integration, e2e)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements-dev.txt app/requirements.txt constraints.txt | cksum | cut -d' ' -f1)

.PHONY: setup dynamodb-local run run-dr test stage-times lint unit integration e2e soak fuzz drill bench-quorum bench-envelope bench-credit bench-auth backtest replay-dlq package infra-plan clean

TIMES  := .devstack/stage-times.tsv
# $(call timed,STAGE,COMMAND): runs COMMAND and records its seconds in $(TIMES) for the summary `make test` ends with.
timed = @mkdir -p .devstack; start=$$(date +%s.%N); $(2) || exit $$?; \
	awk -v s=$$start -v e=$$(date +%s.%N) 'BEGIN { printf "%s\t%.2f\n", "$(1)", e - s }' >> $(TIMES)

# Bytecode is compiled on first import, not at install: pip compiling all of pulumi-aws costs a minute.
$(STAMP): requirements-dev.txt app/requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@echo "installing the pinned dependencies into $(VENV) (first run only; about 30 s with a warm download cache)"
	$(call timed,install,test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --no-compile --progress-bar on --disable-pip-version-check \
		-r requirements-dev.txt -c constraints.txt)
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

# DynamoDB Local for the idempotency contention test: one line saying it was found or why not; never fails.
dynamodb-local: $(STAMP)
	@$(BIN)/python -m devstack.dynamodb_local install

run: setup
	$(BIN)/python -m devstack.stack

# Two regions on one machine: API + worker per region, replicator (global tables stand-in), failover router.
run-dr: setup
	$(BIN)/python -m devstack.regions

# Failover drill (RTO, RPO, verification, failback) and restore drill on the local two-region environment.
drill: setup
	$(BIN)/python -m drill all --target local --report-dir drill-report

# Stage times (install, lint, types, each test suite) are printed at the end of pytest's report.
test: stage-times lint dynamodb-local
	AME_STAGE_TIMES=$(TIMES) $(BIN)/python -m pytest

stage-times:
	@mkdir -p .devstack && : > $(TIMES)

lint: setup
	$(call timed,ruff check,$(BIN)/ruff check .)
	$(call timed,ruff format,$(BIN)/ruff format --check .)
	$(call timed,mypy,$(BIN)/mypy)

unit: setup
	$(BIN)/python -m pytest tests/unit

integration: setup
	$(BIN)/python -m pytest tests/integration

e2e: setup
	$(BIN)/python -m pytest tests/e2e

# a bounded fault soak of the local stack (tests/soak; AME_SOAK_ORDERS scales it); prints SOAK {figures}
soak: setup
	$(BIN)/python -m pytest -s tests/soak

# schemathesis against a local stack of its own, from GET /v1/openapi.json; ends with the counts by status.
fuzz: setup
	$(BIN)/python -m pytest tests/fuzz

bench-quorum: setup
	$(BIN)/python -m bench.bench_quorum

# make bench-envelope [ARGS="--latency-ms 50 --orders 10"]: POST -> decided through the local stack, partners answering after L
bench-envelope: setup
	$(BIN)/python -m bench.bench_envelope $(ARGS)

bench-credit: setup
	$(BIN)/python -m bench.bench_credit

# Cold `import app` and first invocation (GET /v1/health) of the built package laid out as Lambda does, 3 fresh
# processes each (min/median/max); `ARGS="--package DIR"` measures another build, e.g. a plain `chalice package`.
.PHONY: bench-cold-start
bench-cold-start: package
	$(BIN)/python -m bench.bench_cold_start $(ARGS)

# What telemetry (correlation ids, EMF metrics, Powertools log lines) adds per order, in-process (p50/p95).
.PHONY: bench-telemetry
bench-telemetry: setup
	$(BIN)/python -m bench.bench_telemetry $(ARGS)

# What verifying a bearer token and its scope adds per request, in-process (p50/p95).
bench-auth: setup
	$(BIN)/python -m bench.bench_auth

# make backtest CANDIDATE=docs/examples/candidate-policy.json INPUT=docs/examples/applications.jsonl
CANDIDATE ?= docs/examples/candidate-policy.json
INPUT     ?= docs/examples/applications.jsonl
backtest: setup
	$(BIN)/python -m chalicelib.commands.backtest --candidate $(CANDIDATE) --input $(INPUT)

# make replay-dlq [TARGET=local|aws] [ARGS="--queue ... --limit N"]: the local stack by default;
# TARGET=aws uses your credential chain and AWS_REGION, and names the account before moving anything.
TARGET ?= local
replay-dlq: setup
	$(BIN)/python -m chalicelib.commands.replay_dlq --target $(TARGET) $(ARGS)

# make audit-report CPF=70000000230 [TARGET=local|aws] [SINCE=YYYY-MM-DD] [UNTIL=YYYY-MM-DD] [ARGS=--json]: who
# accessed that person's data (CPF or CNPJ) and when. TARGET=aws reads the audit bucket (AME_AUDIT_BUCKET) with
# the secret AME_APP_SECRET_PARAMETER names. The recipe is not echoed: make's log does not repeat the document.
.PHONY: audit-report
audit-report: setup
	@test -n "$(CPF)" || { echo "audit-report: give the data subject's document, e.g. make audit-report CPF=70000000230" >&2; exit 2; }
	@$(BIN)/python -m chalicelib.commands.audit_report "$(CPF)" --target $(TARGET) \
		$(if $(SINCE),--since $(SINCE)) $(if $(UNTIL),--until $(UNTIL)) $(ARGS)

# Build the Lambda deployment package and SAM/Terraform-free template the Pulumi program consumes, then make it
# lean (infra/ame_infra/lean_package.py): no runtime-provided SDK, cryptography in build/chalice/layer.zip, .pyc
# compiled for the runtime, fixed zip metadata; fails if deployment.zip reaches 5 MB.
package: setup
	find chalicelib -name __pycache__ -prune -exec rm -rf {} +
	cd app && AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} ../$(BIN)/chalice package --pkg-format cloudformation ../build/chalice
	PYTHONPATH=infra $(BIN)/python -m ame_infra.lean_package build/chalice

# make infra-plan STACK=prod|dr: every AWS resource `pulumi up` would create, from Pulumi's mocks (no AWS, no CLI).
STACK ?= prod dr
infra-plan: package
	@for stack in $(STACK); do echo "# stack $$stack"; PYTHONPATH=infra $(BIN)/python -m ame_infra.plan --stack $$stack || exit 1; done

# The data lake (README, Data lake). make lake-traffic [ARGS="--days 7 --shift -120 --shift-from-day 5"] writes
# generated orders and decisions straight into the running local stack's tables (created_at on the simulated days);
# make lake extracts them (export format), transforms, checks, models and reports; it prints where the report is.
.PHONY: lake lake-traffic lake-backfill lake-sql bench-lake
lake-traffic: setup
	$(BIN)/python -m lake traffic $(ARGS)

lake: setup
	$(BIN)/python -m lake run $(ARGS)

# make lake-sql [SQL=file.sql]: one query over the curated tables (default: approval rate by band per day).
lake-sql: setup
	$(BIN)/python -m lake sql - < $(or $(SQL),lake/queries/approval_rate_by_band.sql)

# make lake-backfill FROM=2026-11-01 TO=2026-11-07: re-runs those days from the exports already under raw/.
lake-backfill: setup
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "lake-backfill: give the days, e.g. make lake-backfill FROM=2026-11-01 TO=2026-11-07" >&2; exit 2; }
	$(BIN)/python -m lake backfill --from $(FROM) --to $(TO) $(ARGS)

# 1,000,000 credit decisions and 1,000,000 orders from export files to curated Parquet; ends with
# `lake: 1000000 credit decisions in <seconds> s`.
bench-lake: setup
	$(BIN)/python -m bench.lake $(ARGS)

clean:
	rm -rf build .devstack .pytest_cache .mypy_cache .ruff_cache .hypothesis

# make chalice-local [CHALICE_PORT=8001]: `chalice local --stage local` beside `make run` (whose endpoint and
# partners it uses, and whose token issuer and clients it trusts: AME_TOKEN_ISSUERS and AME_AREA_CLIENTS exported
# from $(CLIENTS)), running as the API's IAM user on that endpoint (its keys exported from $(AWS_USERS)), its
# request lines (paths carry CPFs) through the PII mask, its audit records appended to
# .devstack/audit/audit.jsonl as make run's are. Needs `make run` running.
CHALICE_PORT ?= 8001
LOCAL_AWS    ?= http://127.0.0.1:8100
CLIENTS      ?= .devstack/clients.json
AWS_USERS    ?= .devstack/aws-users.json
.PHONY: chalice-local
chalice-local:
	@$(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' $(LOCAL_AWS)/moto-api/ 2>/dev/null \
		|| { echo "chalice-local: nothing answers at $(LOCAL_AWS) (the local AWS endpoint): start make run in another terminal first"; exit 1; }
	@test -f $(CLIENTS) || { echo "chalice-local: no $(CLIENTS) (the clients make run registers): start make run in another terminal first"; exit 1; }
	@test -f $(AWS_USERS) || { echo "chalice-local: no $(AWS_USERS) (the IAM users make run creates): start make run in another terminal first"; exit 1; }
	(identity=$$($(BIN)/python -m devstack.tokens env $(CLIENTS)) && eval "$$identity" \
		&& api_user=$$($(BIN)/python -m devstack.permissions env api $(AWS_USERS)) && eval "$$api_user" && cd app \
		&& PYTHONUNBUFFERED=1 PYTHONPATH=.. ../$(BIN)/python -m devstack.chalice_local local --stage local --port $(CHALICE_PORT)) 2>&1 \
		| $(BIN)/python -m devstack.mask --audit .devstack/audit/audit.jsonl
