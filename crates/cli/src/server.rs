//! `ironban server`, also `fail2ban-server` (fail2ban:
//! `client/fail2banserver.py`, `server/server.py start`).
//!
//! `-b` (default) detaches into the background, `-f` stays in the
//! foreground. Without `--async` the server configures itself from the
//! configuration directory before it starts listening; with `--async` (as
//! `fail2ban-client start` runs it) it waits for the client's stream.
//! Command words after the options are handed to the client, as
//! fail2ban-server does.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use ironban_config::Value;
use ironban_server::log::{str2level, Logger};
use ironban_server::protocol::asyncserver::ListenOpts;
use ironban_server::Server;

use crate::client::cmdline::{self, Parsed};

pub fn main(args: Vec<OsString>) -> i32 {
    ironban_server::server::timing(|| "main".into());
    let argv: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let conf = match cmdline::parse(&argv, true) {
        Parsed::Run(c) => c,
        Parsed::Exit(code) => return code,
    };
    let just_start = conf.args.len() == 1 && conf.args[0] == "start";
    if (!conf.args.is_empty() && !just_start) || conf.interactive || conf.dump.is_some() {
        return crate::client::main(args);
    }
    let stream = if conf.async_ {
        None
    } else {
        match crate::client::config_stream(&conf.conf, None) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("ERROR: Failed during configuration: {e}");
                return 255;
            }
        }
    };
    ironban_server::server::timing(|| "stream built".into());
    if conf.background {
        match daemonize() {
            Ok(true) => return 0,
            Ok(false) => {}
            Err(e) => {
                eprintln!("ERROR: Could not create daemon: {e}");
                return 255;
            }
        }
    }
    // SAFETY: umask only changes this process's file creation mask; the
    // server runs owner-only as fail2ban does.
    unsafe { libc::umask(0o077) };

    let log = Arc::new(Logger::new());
    let mut srv = Server::new(log.clone());
    if let Some(l) = str2level(&conf.loglevel) {
        log.set_level(l);
        srv.loglevel = conf.loglevel.to_uppercase();
    }
    if let Err(e) = log.set_target(&conf.logtarget, &conf.syslogsocket) {
        eprintln!("ERROR: Unable to log to {}: {e}", conf.logtarget);
    } else {
        srv.logtarget = conf.logtarget.split('[').next().unwrap_or("").to_string();
    }
    srv.syslogsocket = conf.syslogsocket.clone();
    let srv = Arc::new(Mutex::new(srv));
    let opts = ListenOpts {
        socket: conf.socket.clone().into(),
        pidfile: Some(conf.pidfile.clone().into()),
        force: conf.force,
        systemd: true,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ERROR: cannot start the runtime: {e}");
            return 255;
        }
    };
    let log2 = log.clone();
    let configure = srv.clone();
    let socket = conf.socket.clone();
    let res = rt.block_on(async move {
        if let Some(stream) = stream {
            // As fail2ban's configureServer thread: once the socket is up,
            // the configuration stream is applied like a client would send it.
            tokio::spawn(async move {
                while !std::path::Path::new(&socket).exists() {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                ironban_server::server::timing(|| "socket seen".into());
                let cmd = Value::List(vec![Value::str("server-stream"), Value::List(stream)]);
                if let Ok(mut s) = configure.lock() {
                    let reply = ironban_server::transmitter::proceed(&mut s, &cmd);
                    ironban_server::server::timing(|| "stream applied".into());
                    if reply.repr() != "(0, None)" {
                        s.log
                            .error("server", &format!("Configuration failed: {}", reply.repr()));
                    }
                }
            });
        }
        let shutdown = async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int), Ok(mut usr1)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
                signal(SignalKind::user_defined1()),
            ) else {
                return std::future::pending().await;
            };
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                    _ = usr1.recv() => {
                        log2.debug("server", "Caught signal 10. Flushing logs");
                        log2.reopen();
                    }
                }
            }
        };
        ironban_server::run(opts, srv, shutdown).await
    });
    match res {
        Ok(()) => 0,
        Err(e) => {
            log.error("server", &format!("Could not start server: {e}"));
            eprintln!("ERROR: {e}");
            255
        }
    }
}

/// Forks into the background; `Ok(true)` in the parent, which should exit.
fn daemonize() -> std::io::Result<bool> {
    // SAFETY: called before any thread or runtime exists, so fork is safe;
    // the child only continues single-threaded start-up.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => return Ok(true),
        }
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(false)
}
