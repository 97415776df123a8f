//! The threads that carry BOSH requests: one per request slot, each making
//! blocking ureq calls, their answers queued for the engine with a wake-up.
//! A slot's thread is kept for the next request, so a session of `hold` 1
//! costs two threads, not one per request.

use super::super::http;
use super::super::Notify;
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request for a worker to make.
pub(super) struct Job {
    pub rid: u64,
    pub attempt: u32,
    pub body: Arc<str>,
    pub cookie: Option<String>,
    pub timeout: Duration,
}

/// What became of a request, for the engine.
pub(super) struct Answer {
    pub rid: u64,
    pub attempt: u32,
    pub outcome: Outcome,
}

pub(super) enum Outcome {
    /// The request is on the wire in full (see transport/http.rs).
    Written,
    Reply(Reply),
    Failed(Failure),
}

/// A request that got no HTTP answer. `fatal`: retrying cannot help
/// (an untrusted certificate, a bad URL), so the session fails at once.
pub(super) struct Failure {
    pub fatal: bool,
    pub message: String,
}

impl Failure {
    pub fn transient(message: &str) -> Failure {
        Failure {
            fatal: false,
            message: message.to_string(),
        }
    }

    fn from_ureq(e: ureq::Error) -> Failure {
        use ureq::Error as E;
        let fatal = matches!(
            e,
            E::NativeTls(_)
                | E::Tls(_)
                | E::BadUri(_)
                | E::HostNotFound
                | E::Der(_)
                | E::RequireHttpsOnly(_)
        );
        Failure {
            fatal,
            message: e.to_string(),
        }
    }
}

pub(super) struct Reply {
    pub status: u16,
    pub body: String,
    pub set_cookies: Vec<String>,
}

/// What every request of a session carries besides its body.
#[derive(Clone)]
pub(super) struct Endpoint {
    pub url: String,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
}

/// The request threads of one session and the queue of their answers.
pub(super) struct Workers {
    endpoint: Endpoint,
    notify: Notify,
    answers: Arc<Mutex<VecDeque<Answer>>>,
    senders: Vec<Sender<Job>>,
    /// The threads, joined when the transport ends.
    threads: Vec<JoinHandle<()>>,
    busy: Vec<bool>,
    /// Which worker carries each rid, to free it when the answer comes.
    worker_of: BTreeMap<u64, usize>,
}

impl Workers {
    pub fn new(endpoint: Endpoint, notify: Notify) -> Workers {
        Workers {
            endpoint,
            notify,
            answers: Arc::default(),
            senders: Vec::new(),
            threads: Vec::new(),
            busy: Vec::new(),
            worker_of: BTreeMap::new(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Hands `job` to a free worker, starting one if none is free.
    pub fn start(&mut self, agent: Option<&ureq::Agent>, job: Job) {
        let worker = match self.busy.iter().position(|b| !b) {
            Some(i) => i,
            None => {
                self.spawn(agent.cloned());
                self.senders.len() - 1
            }
        };
        self.busy[worker] = true;
        self.worker_of.insert(job.rid, worker);
        let (rid, attempt) = (job.rid, job.attempt);
        if self.senders[worker].send(job).is_err() {
            // The worker died: the answer is an error, handled like any other.
            self.push(Answer {
                rid,
                attempt,
                outcome: Outcome::Failed(Failure::transient("request thread is gone")),
            });
        }
    }

    /// The oldest answer not yet taken; the worker of a finished request
    /// is free again.
    pub fn next_answer(&mut self) -> Option<Answer> {
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()?;
        if !matches!(answer.outcome, Outcome::Written) {
            if let Some(w) = self.worker_of.remove(&answer.rid) {
                if let Some(b) = self.busy.get_mut(w) {
                    *b = false;
                }
            }
        }
        Some(answer)
    }

    /// Takes every answer left and returns the highest rid among those
    /// reported written: after `end`, what reached the server for certain.
    pub fn take_last_written(&mut self) -> Option<u64> {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers
            .drain(..)
            .filter(|a| matches!(a.outcome, Outcome::Written))
            .map(|a| a.rid)
            .max()
    }

    pub fn has_answers(&self) -> bool {
        !self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Lets every worker end (the agent's shutdown has failed their
    /// requests) and joins them; one stuck in a TCP connect, which the
    /// shutdown cannot interrupt, is left after `deadline`.
    pub fn end(&mut self, deadline: Instant) {
        self.senders.clear();
        self.busy.clear();
        while self.threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        for thread in self.threads.drain(..).filter(|t| t.is_finished()) {
            let _ = thread.join();
        }
    }

    fn push(&self, answer: Answer) {
        push(&self.answers, &self.notify, answer);
    }

    fn spawn(&mut self, agent: Option<ureq::Agent>) {
        let (tx, rx) = channel::<Job>();
        let answers = Arc::clone(&self.answers);
        let notify = Arc::clone(&self.notify);
        let endpoint = self.endpoint.clone();
        let spawned = std::thread::Builder::new()
            .name("epode-bosh".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let (rid, attempt) = (job.rid, job.attempt);
                    let (a, n) = (Arc::clone(&answers), Arc::clone(&notify));
                    http::on_request_written(move || {
                        let outcome = Outcome::Written;
                        push(
                            &a,
                            &n,
                            Answer {
                                rid,
                                attempt,
                                outcome,
                            },
                        );
                    });
                    let outcome = match &agent {
                        Some(agent) => match post(agent, &endpoint, &job) {
                            Ok(reply) => Outcome::Reply(reply),
                            Err(failure) => Outcome::Failed(failure),
                        },
                        None => Outcome::Failed(Failure::transient("no HTTP agent")),
                    };
                    http::clear_request_written();
                    push(
                        &answers,
                        &notify,
                        Answer {
                            rid,
                            attempt,
                            outcome,
                        },
                    );
                }
            });
        // A thread that cannot start leaves a dead sender: `start` then
        // reports the request as failed instead of hanging.
        if let Ok(thread) = spawned {
            self.threads.push(thread);
        }
        self.senders.push(tx);
        self.busy.push(false);
    }
}

fn push(answers: &Mutex<VecDeque<Answer>>, notify: &Notify, answer: Answer) {
    answers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push_back(answer);
    notify();
}

/// Makes one request and reads its answer in full.
pub(super) fn post(
    agent: &ureq::Agent,
    endpoint: &Endpoint,
    job: &Job,
) -> std::result::Result<Reply, Failure> {
    let mut req = agent
        .post(&endpoint.url)
        .header("Content-Type", endpoint.content_type.as_str());
    for (name, value) in &endpoint.headers {
        req = req.header(name.as_str(), value.as_str());
    }
    if let Some(cookie) = &job.cookie {
        req = req.header("Cookie", cookie.as_str());
    }
    let mut resp = req
        .config()
        .timeout_global(Some(job.timeout))
        .build()
        .send(job.body.as_bytes())
        .map_err(Failure::from_ureq)?;
    let status = resp.status().as_u16();
    let set_cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(Failure::from_ureq)?;
    Ok(Reply {
        status,
        body,
        set_cookies,
    })
}
