# SPDX-License-Identifier: GPL-2.0
# zcdev top-level Makefile.  The module itself is described by ./Kbuild.
#
#   make                  zcdev.ko for the running kernel (or KDIR=<build dir>)
#   make KVER=6.12        zcdev.ko for the installed Debian 6.1/6.12 kernel,
#                         in build/<KVER>/mod/
#   make run              build, boot a 6.12 guest (KVER=6.1 for 6.1), run the demo
#   make check            lint + selftests in 6.1 and 6.12 guests; ends with
#                         "N passed, N failed"; KVER=, T=prog, TARGS="...", V=1
#   make lint             checkpatch --strict, W=1 and sparse builds
#   make check-debug      the selftests on KASAN/lockdep/kmemleak kernels built
#                         from the 6.1 and 6.12 sources (KVER= for one)
#   make bench            zcbench in both guests (quick; bench-full: all sizes)
#   make check-harness    prove that a broken module fails `make check`
#   make check-mutants    prove that the selftests catch a module that lies
#                         (vm/mutants/*.patch, both kernels, a kill matrix)
#   make deb              Debian packages (zcdev-dkms, libzc1, libzc-dev,
#                         zcdev-tools) into build/deb/, then lintian
#   make dkms             dkms add/build/install for the 6.1 and 6.12 kernels
#                         (private trees in build/dkms/), a send in each guest
#   make fresh            `make run` on a fresh clone of HEAD (FRESH_STEPS=
#                         "run check" for both README commands)
#   make deps             apt-get install what the above need (idempotent)
#   make install          modules_install (+ depmod) for KDIR's kernel
#   make clean            build outputs; make distclean: all of build/
#
# Everything QEMU-related lives in vm/; caches and outputs in build/.

KDIR ?= /lib/modules/$(shell uname -r)/build
export KVER T TARGS V LINT PARALLEL

.PHONY: all modules install check check-debug lint run bench bench-full check-harness check-mutants deb dkms fresh deps guest clean distclean help

all: modules

ifneq ($(KVER),)
modules:
	@vm/build-module.sh $(KVER)
else
modules:
	@test -d $(KDIR) || { \
	  echo "No kernel build directory at $(KDIR)."; \
	  echo "Install the headers of the running kernel, or use KDIR=<dir>,"; \
	  echo "or KVER=6.1 / KVER=6.12 for the Debian kernels (make deps)."; \
	  exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules
endif

# kbuild's modules_install runs depmod itself
install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

check:
	@vm/check.sh

check-debug:
	@vm/check-debug.sh

bench:
	@bench/run.sh quick

bench-full:
	@bench/run.sh full

lint:
	@vm/deps.sh && mkdir -p build && vm/lint.sh | tee build/lint.txt; vm/ktap-summary build/lint.txt

run:
	@vm/run.sh

check-harness:
	@vm/selftest-harness.sh

check-mutants:
	@vm/check-mutants.sh

deb:
	@vm/deps.sh && vm/deb.sh

dkms:
	@vm/deps.sh && vm/dkms.sh

fresh:
	@vm/fresh-clone.sh

deps:
	@vm/deps.sh

guest:
	@vm/build-guest.sh

# Not "make -C $(KDIR) M=$(CURDIR) clean": that deletes every *.ko below
# M, build/ included.  Remove kbuild's outputs in the tree by name instead.
clean:
	rm -f zcdev.ko zcdev.o zcdev.mod zcdev.mod.c zcdev.mod.o Module.symvers \
	      modules.order .module-common.o
	find . -maxdepth 1 -name '.*.cmd' -delete
	find kmod \( -name '*.o' -o -name '.*.cmd' -o -name '*.o.d' -o -name '.*.o.d' \) -delete
	rm -rf .tmp_versions build/6.1 build/6.12 build/guest build/check \
	       build/.locks build/lint.txt build/run-build.txt \
	       build/bench build/bench-exp build/deb build/dkms
	-@[ ! -f tools/Makefile ] || $(MAKE) --no-print-directory -C tools clean
	-@[ ! -f userlib/Makefile ] || $(MAKE) --no-print-directory -C userlib clean

distclean: clean
	rm -rf build

help:
	@sed -n '2,25p' Makefile | sed 's/^# \{0,1\}//'
