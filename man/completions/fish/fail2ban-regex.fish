complete -c fail2ban-regex -s c -l config -d 'configuration directory for filter names (default /etc/fail2ban)' -r -f -a "(__fish_complete_directories)"
complete -c fail2ban-regex -s d -l datepattern -d 'date pattern to use instead of the filter\'s' -r
complete -c fail2ban-regex -l timezone -l TZ -d 'time zone of log lines without one (also --TZ)' -r
complete -c fail2ban-regex -s e -l encoding -d 'log file encoding' -r
complete -c fail2ban-regex -l usedns -d 'how <HOST> matches names: yes, no, warn, raw' -r -f -a "yes\t''
no\t''
warn\t''
raw\t''"
complete -c fail2ban-regex -s L -l maxlines -d 'maxlines for multi-line regexes' -r
complete -c fail2ban-regex -s m -l journalmatch -d 'journalctl-style matches (systemd-journal only)' -r
complete -c fail2ban-regex -s l -l log-level -d 'log level of the fail2ban logger' -r
complete -c fail2ban-regex -l verbosity -d 'set the verbosity level (0..4)' -r
complete -c fail2ban-regex -s o -l out -d 'print only this for each failure (row, id, ip, msg, host, ip4, ip6, dns, matches, F-*)' -r
complete -c fail2ban-regex -l version -d 'print the version'
complete -c fail2ban-regex -s h -l help -d 'print help'
complete -c fail2ban-regex -s r -l raw -d 'raw hosts: do not resolve DNS'
complete -c fail2ban-regex -s V -d 'print the version in machine-readable short form'
complete -c fail2ban-regex -s v -l verbose -d 'increase verbosity'
complete -c fail2ban-regex -l verbose-date -l VD -d 'show the date patterns tried (also --VD)'
complete -c fail2ban-regex -s D -l debuggex -d 'print debuggex.com URLs for the regexes'
complete -c fail2ban-regex -l no-check-all -d 'stop at the first matching failregex of a line'
complete -c fail2ban-regex -l print-no-missed -d 'do not print missed lines'
complete -c fail2ban-regex -l print-no-ignored -d 'do not print ignored lines'
complete -c fail2ban-regex -l print-all-matched -d 'print all matched lines'
complete -c fail2ban-regex -l print-all-missed -d 'print all missed lines'
complete -c fail2ban-regex -l print-all-ignored -d 'print all ignored lines'
complete -c fail2ban-regex -l json -d 'ironban: print the results as one JSON object'
complete -c fail2ban-regex -s t -l log-traceback -d 'accepted for compatibility (no tracebacks in ironban)'
complete -c fail2ban-regex -l full-traceback -d 'accepted for compatibility'
