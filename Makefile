# crmkit - CRM marketing as small Unix tools.
#
#   make            build libcrm.a and the programs into build/
#   make demo       install missing deps (Debian/Ubuntu), build, run examples/
#   make check      build and run every test
#   make check-asan the same under AddressSanitizer + UBSan
#   make check-valgrind  a subset of tests/cli with every crm-* program
#                   under valgrind (memory errors, definite leaks)
#   make fuzz       libFuzzer targets of tests/fuzz (clang, ASan + UBSan)
#                   for FUZZ_TIME seconds each (default 60), two at a time;
#                   make check replays their corpus and crashers
#   make bench      benchmarks against peers (sqlite3 .import, ...)
#   make install    PREFIX=/usr/local DESTDIR= (the programs find their data
#                   beside them at run time, whatever PREFIX they were built with)
#   make uninstall  removes what make install put there (same variables)
#   make lint-man   mandoc -Tlint and groff -ww on the manual pages
#   make V=1        shows the compiler's command lines instead of "CC lib/x.o"
#   make deps       apt-get install what building and running need
#   make deps-test  and what the tests need (make check installs them)

VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/crmkit
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
BUILD   ?= build
# the builds that check, check-asan, fuzz and demo start run this many
# compilers at once (one per CPU)
JOBS    ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

CC      ?= cc
# quiet by default, as Linux and git: one "  CC      lib/x.o" line per step,
# the compiler's own errors and warnings in full; V=1 shows the commands
V       ?= 0
ifeq ($(V),1)
Q     =
say   = @:
else
Q     = @
say   = @printf '  %-7s %s\n'
MAKEFLAGS += --no-print-directory
endif
OPT     ?= -O2 -g
PKGS     = sqlite3 libcjson libcurl libcrypto inih libmicrohttpd gmime-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lsqlite3 -lcjson -lcurl -lcrypto -linih -lmicrohttpd -lgmime-3.0 -lgio-2.0 -lgobject-2.0 -lglib-2.0)
SAN     ?=
CFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 \
	-Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	$(OPT) $(SAN) -Ilib -I$(BUILD) $(PKG_CFLAGS) \
	-DCRM_VERSION='"$(VERSION)"' -DCRM_DATADIR='"$(DATADIR)"' $(CFLAGS)
LIBS_ALL = $(PKG_LIBS) -lcsv -lm -pthread $(LDLIBS)
# inih has no version in its header or library: --version shows pkg-config's
$(BUILD)/lib/version.o: CFLAGS_ALL += -DCRM_INIH_VERSION='"$(shell pkg-config --modversion inih 2>/dev/null)"'

PROGS    = $(patsubst cmd/%.c,%,$(wildcard cmd/crm-*.c))
LIB_SRC  = $(sort $(wildcard lib/*.c))
LIB_OBJ  = $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o) $(BUILD)/lib/schema_sql.o \
	$(BUILD)/lib/countries_tab.o
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN      = $(PROGS:%=$(BUILD)/bin/%)
FUZZ_SRC = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
REPLAY_BIN = $(FUZZ_NAMES:%=$(BUILD)/tests/replay_%)
FUZZ_BIN = $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_TIME ?= 60
SCHEMA   = $(sort $(wildcard share/schema/*.sql))
# ISO 3166-1 names and their translations (Debian's iso-codes), made into
# the table of lib/countries_tab.c at build time
ISO_3166_JSON ?= /usr/share/iso-codes/json/iso_3166-1.json
ISO_3166_MO   ?= $(sort $(wildcard /usr/share/locale/*/LC_MESSAGES/iso_3166-1.mo))
CJSON_LIBS := $(shell pkg-config --libs libcjson 2>/dev/null || echo -lcjson)

all: $(BIN) $(BUILD)/libcrm.a

$(BUILD)/lib/%.o: lib/%.c lib/*.h | $(BUILD)/lib
	$(say) CC $(@:$(BUILD)/%=%)
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/lib/schema_sql.c: $(SCHEMA) share/embed.sh | $(BUILD)/lib
	$(say) GEN $@
	$(Q)sh share/embed.sh $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(BUILD)/lib/schema_sql.o: $(BUILD)/lib/schema_sql.c
	$(say) CC $(@:$(BUILD)/%=%)
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

# a build tool: without $(SAN), it only runs here
$(BUILD)/gen_countries: share/gen_countries.c lib/fold.c lib/fold.h lib/mo.c lib/mo.h | $(BUILD)/lib
	$(say) HOSTCC $@
	$(Q)$(CC) -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O2 -Ilib $(PKG_CFLAGS) \
		-o $@ share/gen_countries.c lib/fold.c lib/mo.c $(CJSON_LIBS)

$(BUILD)/lib/countries_tab.c: $(BUILD)/gen_countries share/countries.aliases $(wildcard $(ISO_3166_JSON)) $(ISO_3166_MO)
	$(say) GEN $@
	$(Q)$(BUILD)/gen_countries $(ISO_3166_JSON) share/countries.aliases $(ISO_3166_MO) > $@.tmp && mv $@.tmp $@

$(BUILD)/lib/countries_tab.o: $(BUILD)/lib/countries_tab.c
	$(say) CC $(@:$(BUILD)/%=%)
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libcrm.a: $(LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@ && ar rcs $@ $(LIB_OBJ)

$(BUILD)/bin/%: cmd/%.c $(BUILD)/libcrm.a lib/*.h | $(BUILD)/bin
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libcrm.a $(LIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(BUILD)/libcrm.a | $(BUILD)/tests
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(BUILD)/libcrm.a $(LIBS_ALL)

# the fuzz targets with tests/fuzz/replay.c's main (make tests), or with
# libFuzzer's (make fuzz); libcrm's own main.o stays out of the latter
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/*.h $(BUILD)/libcrm.a | $(BUILD)/tests
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/fuzz -o $@ tests/fuzz/replay.c $< $(BUILD)/libcrm.a $(LIBS_ALL)

# an LD_PRELOAD allocator that fails the Nth allocation (t0960); built
# without $(SAN): a sanitizer runtime must come first, so t0960 skips there
$(BUILD)/tests/failmalloc.so: tests/faults/failmalloc.c | $(BUILD)/tests
	$(say) CC $@
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -shared -o $@ $< -ldl

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/*.h $(LIB_OBJ) | $(BUILD)/fuzz
	$(say) LD $@
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
		$(filter-out $(BUILD)/lib/main.o,$(LIB_OBJ)) $(LIBS_ALL)

$(BUILD)/lib $(BUILD)/bin $(BUILD)/tests $(BUILD)/fuzz:
	$(Q)mkdir -p $@

tests: $(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/tests/failmalloc.so

fuzz-targets: $(FUZZ_BIN)

check: deps-test
	$(MAKE) -j$(JOBS) all tests
	@sh tests/run.sh $(BUILD)

# The whole suite under ASan + UBSan. The kill and concurrency loops run
# fewer rounds here (20 kills of crm-import instead of 50, 10 of crm-score
# and crm-send instead of 20, 4 rounds of everything at once instead of
# 10): make check runs the full counts, and at 3 to 5 times the cost of a
# round under ASan they took half of CI's time for no new code path.
check-asan:
	CRASH_ROUNDS=$${CRASH_ROUNDS:-10} CONCURRENCY_ROUNDS=$${CONCURRENCY_ROUNDS:-4} \
	$(MAKE) BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' check

check-valgrind: deps-test
	$(MAKE) -j$(JOBS) all
	@sh tests/valgrind.sh $(BUILD)

fuzz: deps-test
	$(MAKE) -j$(JOBS) BUILD=build-fuzz CC=clang OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all' fuzz-targets
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_TIME)

deps:
	@sh share/deps.sh

deps-test:
	@sh share/deps.sh test

demo: deps
	@$(MAKE) -j$(JOBS) all
	@sh examples/demo.sh $(BUILD)/bin

$(BUILD)/bench/gen: bench/gen.c
	$(say) HOSTCC $@
	$(Q)mkdir -p $(BUILD)/bench
	$(Q)$(CC) -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O2 -o $@ bench/gen.c

$(BUILD)/bench/sink: bench/sink.c
	$(say) HOSTCC $@
	$(Q)mkdir -p $(BUILD)/bench
	$(Q)$(CC) -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -O2 -pthread -o $@ bench/sink.c

bench: all $(BUILD)/bench/gen $(BUILD)/bench/sink
	@sh bench/run.sh $(BUILD)
	@sh bench/score.sh $(BUILD)
	@sh bench/report.sh $(BUILD)
	@sh bench/send.sh $(BUILD)
	@sh bench/send-slow.sh $(BUILD)
	@sh bench/track.sh $(BUILD)
	@sh bench/bounces.sh $(BUILD)
	@sh bench/lines.sh $(BUILD)
	@sh bench/loyalty.sh $(BUILD)
	@sh bench/uplift.sh $(BUILD)

# Both formatters a reader may meet: mandoc, and groff as Debian's man runs
# it (preconv, tbl, -mandoc, a UTF-8 terminal); any word from either fails
MANPAGES ?= $(wildcard man/*.[17])
lint-man:
	@out=$$( { mandoc -Tlint -Wwarning $(MANPAGES); \
		for f in $(MANPAGES); do groff -k -t -Tutf8 -ww -z -mandoc "$$f"; done; } 2>&1 ); \
	if [ -n "$$out" ]; then printf '%s\n' "$$out"; exit 1; fi

# What make install puts where: uninstall removes exactly these. The shell
# completions are installed when the tree has them.
MAN1      = $(notdir $(wildcard man/*.1))
MAN7      = $(notdir $(wildcard man/*.7))
DATA_SUBDIRS = schema providers track hooks
DATA_FILES = $(patsubst share/%,%,$(wildcard $(DATA_SUBDIRS:%=share/%/*)))
BASH_COMP = $(wildcard share/completion/crmkit.bash)
ZSH_COMP  = $(wildcard share/completion/_crmkit)

install: all
	$(say) INSTALL "$(DESTDIR)$(PREFIX)"
	$(Q)mkdir -p "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man7"
	$(Q)for p in $(PROGS); do cp "$(BUILD)/bin/$$p" "$(DESTDIR)$(BINDIR)/$$p" || exit 1; done
	$(Q)for m in $(MAN1); do cp "man/$$m" "$(DESTDIR)$(MANDIR)/man1/$$m" || exit 1; done
	$(Q)for m in $(MAN7); do cp "man/$$m" "$(DESTDIR)$(MANDIR)/man7/$$m" || exit 1; done
	$(Q)for d in $(DATA_SUBDIRS); do mkdir -p "$(DESTDIR)$(DATADIR)/$$d" || exit 1; done
	$(Q)for f in $(DATA_FILES); do cp "share/$$f" "$(DESTDIR)$(DATADIR)/$$f" || exit 1; done
ifneq ($(BASH_COMP),)
	$(Q)mkdir -p "$(DESTDIR)$(BASHCOMPDIR)"
	$(Q)for p in $(PROGS); do cp $(BASH_COMP) "$(DESTDIR)$(BASHCOMPDIR)/$$p" || exit 1; done
endif
ifneq ($(ZSH_COMP),)
	$(Q)mkdir -p "$(DESTDIR)$(ZSHCOMPDIR)"
	$(Q)cp $(ZSH_COMP) "$(DESTDIR)$(ZSHCOMPDIR)/_crmkit"
endif

# the files of install, and crmkit's own data directory once it is empty;
# the shared directories (bin, man1, completions) stay
uninstall:
	$(say) UNINSTALL "$(DESTDIR)$(PREFIX)"
	$(Q)for p in $(PROGS); do rm -f "$(DESTDIR)$(BINDIR)/$$p" "$(DESTDIR)$(BASHCOMPDIR)/$$p"; done
	$(Q)for m in $(MAN1); do rm -f "$(DESTDIR)$(MANDIR)/man1/$$m"; done
	$(Q)for m in $(MAN7); do rm -f "$(DESTDIR)$(MANDIR)/man7/$$m"; done
	$(Q)rm -f "$(DESTDIR)$(ZSHCOMPDIR)/_crmkit"
	$(Q)for f in $(DATA_FILES); do rm -f "$(DESTDIR)$(DATADIR)/$$f"; done
	$(Q)for d in $(DATA_SUBDIRS:%="$(DESTDIR)$(DATADIR)/%") "$(DESTDIR)$(DATADIR)"; do \
		[ ! -d "$$d" ] || rmdir "$$d" 2>/dev/null || echo "uninstall: $$d kept: files of your own are in it"; done

clean:
	rm -rf build build-asan build-fuzz crm.db crm.db-wal crm.db-shm

.PHONY: all tests check check-asan check-valgrind fuzz fuzz-targets deps deps-test demo bench lint-man install uninstall clean
.SECONDARY:
