complete -c fail2ban-server -s c -l conf -d 'configuration directory (default /etc/fail2ban)' -r -f -a "(__fish_complete_directories)"
complete -c fail2ban-server -s s -l socket -d 'socket path (default from fail2ban.conf: /var/run/fail2ban/fail2ban.sock)' -r -F
complete -c fail2ban-server -s p -l pidfile -d 'pidfile path' -r -F
complete -c fail2ban-server -l pname -d 'name of the process (accepted for compatibility)' -r
complete -c fail2ban-server -l loglevel -d 'logging level' -r -f -a "CRITICAL\t''
ERROR\t''
WARNING\t''
NOTICE\t''
INFO\t''
DEBUG\t''
TRACEDEBUG\t''
HEAVYDEBUG\t''"
complete -c fail2ban-server -l logtarget -d 'logging target: a file name, STDOUT, STDERR, SYSLOG or SYSOUT' -r
complete -c fail2ban-server -l syslogsocket -d 'syslog socket (auto or a path)' -r
complete -c fail2ban-server -l timeout -d 'time to wait for the server (seconds or e.g. 30s, 1m)' -r
complete -c fail2ban-server -l str2sec -d 'print a time abbreviation (1h30m) in seconds and exit' -r
complete -c fail2ban-server -s d -d 'dump the configuration stream, as fail2ban-client -d'
complete -c fail2ban-server -l dp -l dump-pretty -d 'dump the configuration stream, pretty-printed (also --dump-pretty)'
complete -c fail2ban-server -s t -l test -d 'test the configuration (can be combined with start)'
complete -c fail2ban-server -s i -d 'interactive mode'
complete -c fail2ban-server -s v -d 'increase verbosity'
complete -c fail2ban-server -s q -d 'decrease verbosity'
complete -c fail2ban-server -s x -d 'force execution of the server (remove a stale socket file)'
complete -c fail2ban-server -s b -d 'start the server in the background (default)'
complete -c fail2ban-server -s f -d 'start the server in the foreground'
complete -c fail2ban-server -l async -d 'start the server without reading the configuration (for internal use)'
complete -c fail2ban-server -l json -d 'ironban: print the server\'s answers as JSON'
complete -c fail2ban-server -s h -l help -d 'print help'
complete -c fail2ban-server -s V -d 'print the fail2ban version in machine-readable short form'
complete -c fail2ban-server -l version -d 'print the version'
