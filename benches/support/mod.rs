//! What the soak and idle programs share: the test ejabberd's settings
//! and its accounts soak0 … soak{n-1}.

use epode::Status;
use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// What a connection's status callback reports: (index, status, condition).
pub type Event = (usize, Status, Option<String>);

/// `[CONNECTIONS] [SECONDS]` from the command line (cargo's own flags
/// such as --bench are passed over).
pub fn args(connections: usize, seconds: u64) -> (usize, u64) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n = args
        .first()
        .map_or(connections, |a| a.parse().expect("CONNECTIONS"));
    let secs = args.get(1).map_or(seconds, |a| a.parse().expect("SECONDS"));
    (n, secs)
}

/// Waits until `count` logins are CONNECTED; any other outcome panics.
pub fn await_logins(events: &Receiver<Event>, count: usize) {
    let mut up = 0;
    while up < count {
        let (i, status, condition) = events
            .recv_timeout(Duration::from_secs(60))
            .expect("a login result within 60 s");
        match status {
            Status::Connected => up += 1,
            Status::Connecting | Status::Authenticating => {}
            _ => panic!("soak{i}: {status} {condition:?}"),
        }
    }
}

/// Logins in flight at once.
pub const LOGIN_BATCH: usize = 100;
pub const PASSWORD: &str = "soak-pass";

pub fn server_env() -> HashMap<String, String> {
    let dir = std::env::var("EPODE_TEST_EJABBERD")
        .expect("EPODE_TEST_EJABBERD=DIR of a running test ejabberd (see benches/soak.sh)");
    let text = std::fs::read_to_string(format!("{dir}/env")).expect("DIR/env");
    text.lines()
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// soak0 … soak{n-1} on the server, in one call of its `eval` script.
pub fn register_accounts(env: &HashMap<String, String>, n: usize) {
    let expr = format!(
        "[ejabberd_auth:try_register(<<\"soak\", (integer_to_binary(I))/binary>>, <<\"{}\">>, <<\"{PASSWORD}\">>) || I <- lists:seq(0, {})], ok.",
        env["XMPP_DOMAIN"],
        n - 1
    );
    let out = std::process::Command::new(&env["XMPP_EVAL"])
        .arg(expr)
        .output()
        .expect("run the server's eval script");
    assert!(
        out.status.success(),
        "registering the soak accounts failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
