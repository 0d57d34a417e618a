# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs twice: on the embedded SQLite and on this PostgreSQL server
# (each run creates a fresh database on it and drops it afterwards).
TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test
# WeasyPrint subsets the fonts it embeds in a PDF with HarfBuzz's subsetter when Debian's
# package is there; without it, writing a PDF is ten times slower.
PDF_SYSTEM_PACKAGES := libharfbuzz-subset0
# The IMAP tests run a real Dovecot of their own, on a free loopback port.
IMAP_TEST_PACKAGES := dovecot-imapd

.PHONY: run test test-sqlite test-postgres bench install pdf-system-packages imap-test-packages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# $(call debian-packages,PACKAGES,WHAT NEEDS THEM): installed when missing. An install that
# fails may only lack the package lists: update them once and try again.
debian-packages = dpkg -s $(1) >/dev/null 2>&1 \
	|| DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) \
	|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1)) \
	|| { echo "make: cannot install Debian's $(1), needed by $(2);" \
	          "install it as root (apt-get install $(1)) and run make again." >&2; exit 1; }

pdf-system-packages:
	@$(call debian-packages,$(PDF_SYSTEM_PACKAGES),PDF rendering)

imap-test-packages:
	@$(call debian-packages,$(IMAP_TEST_PACKAGES),the IMAP tests)

run: $(STAMP) pdf-system-packages
	$(BIN)/crm db upgrade
	$(BIN)/crm serve

test: $(STAMP) pdf-system-packages imap-test-packages
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(STAMP) pdf-system-packages imap-test-packages
	CRM_TEST_DATABASE=sqlite $(BIN)/python -m pytest

test-postgres: $(STAMP) pdf-system-packages imap-test-packages
	CRM_TEST_DATABASE=$(TEST_POSTGRES) $(BIN)/python -m pytest

bench: $(STAMP) pdf-system-packages
	CRM_BENCH_POSTGRES=$(TEST_POSTGRES) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
