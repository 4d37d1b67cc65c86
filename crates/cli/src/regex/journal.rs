//! `fail2ban-regex systemd-journal[journalfiles=…] REGEX`: the entries of
//! the journal, rendered as the server's systemd backend renders them
//! (fail2ban: `fail2banregex.py` `journal_lines_gen`).

/// Every entry of the journal `spec` (`systemd-journal[...]` with the
/// backend options of `man jail.conf`) matching `journalmatch`, as
/// `(line, time)`.
///
/// # Errors
/// The journal cannot be opened or read, or a match is malformed.
pub fn entries(spec: &str, journalmatch: &[String]) -> Result<Vec<(String, f64)>, String> {
    let opts = ironban_server::jail::follow::journal_options(spec);
    ironban_server::journal::read_all(&opts, journalmatch)
        .map(|v| v.into_iter().map(|l| (l.line, l.time)).collect())
        .map_err(|e| e.to_string())
}
