# vm/tailcall.awk: objdump -dr of zcdev.o; -v fn=NAME.  The call of
# queue_work_on() in NAME must be a tail call (jmp): the work it queues may
# drop the module's last reference at once, and module exit waits for the
# work (destroy_workqueue()), not for NAME to return.  With a jmp no module
# instruction runs after the work is queued.  Exit 1 (with a message) if
# it is a call, or if NAME has no queue_work_on() at all.
$0 ~ "<" fn ">:$" { infn = 1; next }
infn && /^$/ { infn = 0 }
infn && /R_X86_64_PLT32[ \t]+queue_work_on/ { seen++; if (prev !~ /[ \t]jmp[ \t]/) bad++ }
infn && !/R_X86_64/ { prev = $0 }
END { if (!seen) { print "no call of queue_work_on in " fn; exit 1 }
      if (bad) { print fn ": queue_work_on is called, not jumped to (module text runs after the last reference may be gone)"; exit 1 } }
