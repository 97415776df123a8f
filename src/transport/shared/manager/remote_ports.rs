//! The manager's side of the ports that are handles in other processes:
//! accepting them on the worker's Unix socket (only from the same user),
//! reading their requests and writing what they are owed.

use super::{JoinMode, Manager};
use crate::transport::shared::ports::{read_port, write_port, Link, Port, PortId, RemotePort};
use crate::transport::shared::socket::same_user;
use crate::transport::shared::wire::ToManager;
use std::io::Write;
use std::time::Duration;

impl Manager {
    pub(super) fn accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        let mut accepted = Vec::new();
        while let Ok((stream, _)) = listener.socket.accept() {
            accepted.push(stream);
        }
        for stream in accepted {
            // Another user's process never becomes a port.
            if !same_user(&stream) || stream.set_nonblocking(true).is_err() {
                continue;
            }
            let id = self.new_port();
            self.ports.push(Port {
                id,
                link: Link::Remote(RemotePort {
                    stream,
                    input: Vec::new(),
                    output: Vec::new(),
                }),
                attached: false,
                waiting: None,
            });
        }
    }

    /// Reads the remote ports `ready` (poll() found input or a hang-up).
    pub(super) fn read_remotes(&mut self, ready: &[PortId]) {
        let limit = self.options.max_stanza_bytes + 1024;
        for &id in ready {
            let mut asks = Vec::new();
            let ok = match self.port(id).map(|p| &mut p.link) {
                Some(Link::Remote(r)) => read_port(r, limit, &mut asks),
                _ => continue,
            };
            for ask in asks {
                match ask {
                    ToManager::Connect(jid) => self.join(id, JoinMode::Connect(jid)),
                    ToManager::Attach => self.join(id, JoinMode::Attach),
                    ToManager::Send(xml) => self.send(id, xml),
                    ToManager::Close => self.close(id),
                }
            }
            // A closed link or garbage: that port goes, the others stay.
            if !ok {
                self.leave(id);
            }
        }
    }

    pub(super) fn write_remotes(&mut self) {
        let mut gone = Vec::new();
        for port in self.ports.iter_mut() {
            if let Link::Remote(r) = &mut port.link {
                if !write_port(r) {
                    gone.push(port.id);
                }
            }
        }
        for id in gone {
            self.leave(id);
        }
    }

    /// At the end, what each remote port is still owed, with a short
    /// deadline: a stuck peer must not hold the worker up.
    pub(super) fn last_words_to_remotes(&mut self) {
        for port in self.ports.iter_mut() {
            if let Link::Remote(r) = &mut port.link {
                let _ = r.stream.set_nonblocking(false);
                let _ = r.stream.set_write_timeout(Some(Duration::from_millis(200)));
                let _ = r.stream.write_all(&r.output);
            }
        }
    }
}
