//! Plaintext over UDP: each datagram holds one or more lines. There is no
//! flow control on UDP (a sender cannot be slowed down); points are always
//! taken.

use charcoal_protocol::plaintext::datagram_lines;
use tokio::net::UdpSocket;

use crate::Counters;
use crate::line::take_line;
use crate::listener::{Shared, deliver};
use crate::point::Batch;

pub(crate) async fn serve(socket: UdpSocket, shared: Shared) {
    let mut buf = vec![0u8; 65_536];
    let mut batch = Batch::new();
    let mut stopped = shared.stopped.clone();
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!("udp receive error: {e}");
                    continue;
                }
            },
            _ = stopped.wait_for(|s| *s) => return,
        };
        let _busy = crate::listener::Busy::new(&shared.config.busy);
        match datagram_lines(&buf[..n]) {
            Ok(lines) => {
                for (i, line) in lines.iter().enumerate() {
                    let number = i as u64 + 1;
                    take_line(
                        line.as_bytes(),
                        number,
                        &mut batch,
                        &shared,
                        "udp",
                        Some(peer),
                    );
                }
            }
            Err(e) => {
                Counters::add(&shared.counters.invalid_lines, 1);
                shared.counters.refused(
                    "udp",
                    Some(peer),
                    format!("invalid datagram, ignoring: {e}"),
                );
            }
        }
        deliver(&shared, &mut batch);
    }
}
