//! echo_bot — the blocking Rust API in one program: log in, echo every chat
//! message back to its sender, stop on a message "quit".
//!
//! ```sh
//! cargo run --example echo_bot -- SERVICE JID PASSWORD [KEY=VALUE ...]
//! ```
//!
//! KEY=VALUE set connection options by their Strophe names
//! (`ca_file=...`, `mechanisms=PLAIN`); `log=LEVEL` (debug, info, warn,
//! error) sends the library's log to stderr.
//!
//! The engine runs on its own thread and calls the closures there; the main
//! thread just blocks on a channel until the session is over, which is all
//! a blocking program needs — no async runtime. It prints "READY full-jid"
//! once online and "ECHO sender body" per echo; exit code 0 after a clean
//! session, 1 if the login failed or the session broke, 2 for bad arguments.

use epode::{Builder, Connection, Element, Keep, LogLevel, Matcher, Options, Status};
use std::process::ExitCode;
use std::sync::mpsc;

/// What the program was asked to do.
struct Args {
    service: String,
    jid: String,
    password: String,
    options: Options,
    log: Option<LogLevel>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut next = |what: &str| args.next().ok_or(format!("{what} is missing"));
    let (service, jid, password) = (next("SERVICE")?, next("JID")?, next("PASSWORD")?);
    let mut options = Options::default();
    let mut log = None;
    for arg in std::env::args().skip(4) {
        let (key, value) = arg
            .split_once('=')
            .ok_or(format!("{arg:?} is not KEY=VALUE"))?;
        if key == "log" {
            let level = LogLevel::ALL
                .into_iter()
                .find(|l| l.name().eq_ignore_ascii_case(value));
            log = Some(level.ok_or(format!("no log level {value:?}"))?);
        } else {
            options.set(key, value).map_err(|e| e.to_string())?;
        }
    }
    Ok(Args {
        service,
        jid,
        password,
        options,
        log,
    })
}

/// Sends `body` back to whoever sent `msg`; true when it was "quit".
fn echo(conn: &Connection, msg: &Element) -> bool {
    // Messages kept while we were offline carry a delay: an old "quit"
    // must not stop a new session.
    if msg.find_child("delay", Some("urn:xmpp:delay")).is_some() {
        return false;
    }
    let (Some(from), Some(body)) = (msg.attr("from"), msg.child_text("body")) else {
        return false;
    };
    let reply = Builder::msg([("to", from), ("type", "chat")])
        .c_text("body", epode::xml::NO_ATTRS, body.as_str())
        .build();
    if conn.send(&reply).is_ok() {
        println!("ECHO {from} {body}");
    }
    body == "quit"
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(why) => {
            eprintln!(
                "echo_bot: {why}\nusage: echo_bot SERVICE JID PASSWORD [KEY=VALUE ...] [log=LEVEL]"
            );
            return ExitCode::from(2);
        }
    };
    let conn = match Connection::new(&args.service, args.options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("echo_bot: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(level) = args.log {
        conn.set_log_handler(level, epode::log::stderr_handler())
            .expect("not inside a log handler");
    }
    conn.add_handler(Matcher::new().name("message").type_("chat"), |conn, msg| {
        if echo(conn, msg) {
            conn.disconnect(Some("asked to quit")).ok();
        }
        Keep::Keep
    })
    .expect("no from criterion to refuse");

    // Statuses travel from the engine thread to this one.
    let (tx, rx) = mpsc::channel();
    let connected = conn.connect(
        &args.jid,
        Some(&args.password),
        move |conn, status, condition, _| {
            eprintln!(
                "{status}{}",
                condition.map(|c| format!(" {c}")).unwrap_or_default()
            );
            if status == Status::Connected {
                conn.send(&Builder::pres(epode::xml::NO_ATTRS).build()).ok();
                println!("READY {}", conn.jid());
            }
            tx.send(status).ok();
        },
    );
    if let Err(e) = connected {
        eprintln!("echo_bot: {e}");
        return ExitCode::from(1);
    }
    let (mut online, mut broken) = (false, false);
    for status in rx {
        match status {
            Status::Connected => online = true,
            Status::Error | Status::ConnFail | Status::AuthFail | Status::ConnTimeout => {
                broken = true
            }
            Status::Disconnected => break,
            _ => {}
        }
    }
    if online && !broken {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
