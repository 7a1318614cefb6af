# The two commands of the README: `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PORT ?= 8001
DEMO := demo

.PHONY: demo test crawl-demo serve-demo clean

$(BIN)/nianbao: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## Crawl the bundled sample portals into $(DEMO)/nianbao.db, then serve it on $(PORT).
demo: crawl-demo serve-demo

crawl-demo: $(BIN)/nianbao
	mkdir -p $(DEMO)
	rm -f $(DEMO)/nianbao.db* $(DEMO)/nianbao.parses.db* $(DEMO)/registry.csv
	$(BIN)/nianbao sample-portals --registry-out $(DEMO)/registry.csv > $(DEMO)/sample-portals.log 2>&1 & \
	  server=$$!; trap 'kill $$server' EXIT; \
	  for i in $$(seq 100); do [ -s $(DEMO)/registry.csv ] && break; sleep 0.1; done; \
	  cat $(DEMO)/sample-portals.log; \
	  $(BIN)/scrapy crawl portals -a registry=$(DEMO)/registry.csv -s NIANBAO_DB=$(DEMO)/nianbao.db \
	    -s AUTOTHROTTLE_ENABLED=False -s DOWNLOAD_DELAY=0 -s LOG_LEVEL=WARNING \
	    -s NIANBAO_ALLOW_LOOPBACK=True
	@$(BIN)/python -c "import sqlite3; c = sqlite3.connect('$(DEMO)/nianbao.db'); \
	  print('archived: %d reports, %d figures, %d skipped items, %d failures' % tuple( \
	  c.execute(q).fetchone()[0] for q in ('select count(*) from reports', \
	  'select count(value) from cells', 'select count(*) from skipped', 'select count(*) from failures')))"

serve-demo: $(BIN)/nianbao
	$(BIN)/nianbao serve $(DEMO)/nianbao.db --port $(PORT)

## Set up with the test extras and run the tests.
test: $(BIN)/nianbao
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
