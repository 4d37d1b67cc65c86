# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ironban_global_optspecs
    string join \n h/help V/version
end

function __fish_ironban_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ironban_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ironban_using_subcommand
    set -l cmd (__fish_ironban_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ironban -n "__fish_ironban_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ironban -n "__fish_ironban_needs_command" -s V -l version -d 'Print version'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "client" -d 'configure and control the ironban (fail2ban) server'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "server" -d 'the ironban (fail2ban) daemon: watch logs, ban addresses'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "regex" -d 'test a fail2ban filter or regex against a log file or line'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "check" -d 'report every problem of a configuration at once, or dry-run a jail\'s actions'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "man" -d 'write the man pages, or print one'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "completions" -d 'print shell completions for ironban and the fail2ban-* names'
complete -c ironban -n "__fish_ironban_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s c -l conf -d 'configuration directory (default /etc/fail2ban)' -r -f -a "(__fish_complete_directories)"
complete -c ironban -n "__fish_ironban_using_subcommand client" -s s -l socket -d 'socket path (default from fail2ban.conf: /var/run/fail2ban/fail2ban.sock)' -r -F
complete -c ironban -n "__fish_ironban_using_subcommand client" -s p -l pidfile -d 'pidfile path' -r -F
complete -c ironban -n "__fish_ironban_using_subcommand client" -l pname -d 'name of the process (accepted for compatibility)' -r
complete -c ironban -n "__fish_ironban_using_subcommand client" -l loglevel -d 'logging level' -r -f -a "CRITICAL\t''
ERROR\t''
WARNING\t''
NOTICE\t''
INFO\t''
DEBUG\t''
TRACEDEBUG\t''
HEAVYDEBUG\t''"
complete -c ironban -n "__fish_ironban_using_subcommand client" -l logtarget -d 'logging target: a file name, STDOUT, STDERR, SYSLOG or SYSOUT' -r
complete -c ironban -n "__fish_ironban_using_subcommand client" -l syslogsocket -d 'syslog socket (auto or a path)' -r
complete -c ironban -n "__fish_ironban_using_subcommand client" -l timeout -d 'time to wait for the server (seconds or e.g. 30s, 1m)' -r
complete -c ironban -n "__fish_ironban_using_subcommand client" -l str2sec -d 'print a time abbreviation (1h30m) in seconds and exit' -r
complete -c ironban -n "__fish_ironban_using_subcommand client" -s d -d 'dump the configuration stream, as fail2ban-client -d'
complete -c ironban -n "__fish_ironban_using_subcommand client" -l dp -l dump-pretty -d 'dump the configuration stream, pretty-printed (also --dump-pretty)'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s t -l test -d 'test the configuration (can be combined with start)'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s i -d 'interactive mode'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s v -d 'increase verbosity'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s q -d 'decrease verbosity'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s x -d 'force execution of the server (remove a stale socket file)'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s b -d 'start the server in the background (default)'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s f -d 'start the server in the foreground'
complete -c ironban -n "__fish_ironban_using_subcommand client" -l async -d 'start the server without reading the configuration (for internal use)'
complete -c ironban -n "__fish_ironban_using_subcommand client" -l json -d 'ironban: print the server\'s answers as JSON'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s h -l help -d 'print help'
complete -c ironban -n "__fish_ironban_using_subcommand client" -s V -d 'print the fail2ban version in machine-readable short form'
complete -c ironban -n "__fish_ironban_using_subcommand client" -l version -d 'print the version'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s c -l conf -d 'configuration directory (default /etc/fail2ban)' -r -f -a "(__fish_complete_directories)"
complete -c ironban -n "__fish_ironban_using_subcommand server" -s s -l socket -d 'socket path (default from fail2ban.conf: /var/run/fail2ban/fail2ban.sock)' -r -F
complete -c ironban -n "__fish_ironban_using_subcommand server" -s p -l pidfile -d 'pidfile path' -r -F
complete -c ironban -n "__fish_ironban_using_subcommand server" -l pname -d 'name of the process (accepted for compatibility)' -r
complete -c ironban -n "__fish_ironban_using_subcommand server" -l loglevel -d 'logging level' -r -f -a "CRITICAL\t''
ERROR\t''
WARNING\t''
NOTICE\t''
INFO\t''
DEBUG\t''
TRACEDEBUG\t''
HEAVYDEBUG\t''"
complete -c ironban -n "__fish_ironban_using_subcommand server" -l logtarget -d 'logging target: a file name, STDOUT, STDERR, SYSLOG or SYSOUT' -r
complete -c ironban -n "__fish_ironban_using_subcommand server" -l syslogsocket -d 'syslog socket (auto or a path)' -r
complete -c ironban -n "__fish_ironban_using_subcommand server" -l timeout -d 'time to wait for the server (seconds or e.g. 30s, 1m)' -r
complete -c ironban -n "__fish_ironban_using_subcommand server" -l str2sec -d 'print a time abbreviation (1h30m) in seconds and exit' -r
complete -c ironban -n "__fish_ironban_using_subcommand server" -s d -d 'dump the configuration stream, as fail2ban-client -d'
complete -c ironban -n "__fish_ironban_using_subcommand server" -l dp -l dump-pretty -d 'dump the configuration stream, pretty-printed (also --dump-pretty)'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s t -l test -d 'test the configuration (can be combined with start)'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s i -d 'interactive mode'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s v -d 'increase verbosity'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s q -d 'decrease verbosity'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s x -d 'force execution of the server (remove a stale socket file)'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s b -d 'start the server in the background (default)'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s f -d 'start the server in the foreground'
complete -c ironban -n "__fish_ironban_using_subcommand server" -l async -d 'start the server without reading the configuration (for internal use)'
complete -c ironban -n "__fish_ironban_using_subcommand server" -l json -d 'ironban: print the server\'s answers as JSON'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s h -l help -d 'print help'
complete -c ironban -n "__fish_ironban_using_subcommand server" -s V -d 'print the fail2ban version in machine-readable short form'
complete -c ironban -n "__fish_ironban_using_subcommand server" -l version -d 'print the version'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s c -l config -d 'configuration directory for filter names (default /etc/fail2ban)' -r -f -a "(__fish_complete_directories)"
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s d -l datepattern -d 'date pattern to use instead of the filter\'s' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l timezone -l TZ -d 'time zone of log lines without one (also --TZ)' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s e -l encoding -d 'log file encoding' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l usedns -d 'how <HOST> matches names: yes, no, warn, raw' -r -f -a "yes\t''
no\t''
warn\t''
raw\t''"
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s L -l maxlines -d 'maxlines for multi-line regexes' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s m -l journalmatch -d 'journalctl-style matches (systemd-journal only)' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s l -l log-level -d 'log level of the fail2ban logger' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l verbosity -d 'set the verbosity level (0..4)' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s o -l out -d 'print only this for each failure (row, id, ip, msg, host, ip4, ip6, dns, matches, F-*)' -r
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l version -d 'print the version'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s h -l help -d 'print help'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s r -l raw -d 'raw hosts: do not resolve DNS'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s V -d 'print the version in machine-readable short form'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s v -l verbose -d 'increase verbosity'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l verbose-date -l VD -d 'show the date patterns tried (also --VD)'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s D -l debuggex -d 'print debuggex.com URLs for the regexes'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l no-check-all -d 'stop at the first matching failregex of a line'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l print-no-missed -d 'do not print missed lines'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l print-no-ignored -d 'do not print ignored lines'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l print-all-matched -d 'print all matched lines'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l print-all-missed -d 'print all missed lines'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l print-all-ignored -d 'print all ignored lines'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l json -d 'ironban: print the results as one JSON object'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -s t -l log-traceback -d 'accepted for compatibility (no tracebacks in ironban)'
complete -c ironban -n "__fish_ironban_using_subcommand regex" -l full-traceback -d 'accepted for compatibility'
complete -c ironban -n "__fish_ironban_using_subcommand check" -s c -l conf -d 'configuration directory (default /etc/fail2ban)' -r -f -a "(__fish_complete_directories)"
complete -c ironban -n "__fish_ironban_using_subcommand check" -l scan-mb -d 'read the last N MiB of each log file (default 8; 0: none)' -r
complete -c ironban -n "__fish_ironban_using_subcommand check" -l jail -d 'the jail whose actions to dry-run' -r
complete -c ironban -n "__fish_ironban_using_subcommand check" -l ban -d 'the address to render a ban of' -r
complete -c ironban -n "__fish_ironban_using_subcommand check" -l json -d 'print JSON instead of text'
complete -c ironban -n "__fish_ironban_using_subcommand check" -s h -l help -d 'print help'
complete -c ironban -n "__fish_ironban_using_subcommand man" -l out -d 'write every page into DIR (default: print PAGE to stdout)' -r -f -a "(__fish_complete_directories)"
complete -c ironban -n "__fish_ironban_using_subcommand man" -s h -l help -d 'Print help'
complete -c ironban -n "__fish_ironban_using_subcommand completions" -l out -d 'write DIR/bash/PROGRAM, DIR/zsh/_PROGRAM, DIR/fish/PROGRAM.fish' -r -f -a "(__fish_complete_directories)"
complete -c ironban -n "__fish_ironban_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "client" -d 'configure and control the ironban (fail2ban) server'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "server" -d 'the ironban (fail2ban) daemon: watch logs, ban addresses'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "regex" -d 'test a fail2ban filter or regex against a log file or line'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "check" -d 'report every problem of a configuration at once, or dry-run a jail\'s actions'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "man" -d 'write the man pages, or print one'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "completions" -d 'print shell completions for ironban and the fail2ban-* names'
complete -c ironban -n "__fish_ironban_using_subcommand help; and not __fish_seen_subcommand_from client server regex check man completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
