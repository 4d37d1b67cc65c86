//! Reads a confdir's command stream and prints how many commands it has:
//! a small driver for profiling the config read (callgrind).
//! `cargo run --example read_stream -p ironban-config -- CONFDIR`

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/etc/fail2ban".into());
    match ironban_config::read_stream(std::path::Path::new(&dir)) {
        Ok(s) => println!("{} commands", s.commands.len()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
