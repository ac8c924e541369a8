//! The metrics endpoint: Prometheus scrapes of `GET /metrics` on `metrics_listen`, each
//! one request and one response on a short connection.

use mio::Token;

use super::Server;
use crate::conns::Request;
use crate::metrics;

impl Server {
    pub(super) fn accept_scrapes(&mut self) {
        if let Some(listener) = &self.metrics_listener {
            self.metrics_conns
                .accept_all(self.poll.registry(), "metrics", || listener.accept().map(|(s, _)| s));
        }
    }

    pub(super) fn scrape_event(&mut self, token: Token) {
        let head_end = |buf: &[u8]| buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
        let request = match self.metrics_conns.read(token, head_end) {
            Request::Partial => return,
            Request::Closed => return self.metrics_conns.close(self.poll.registry(), token),
            Request::Complete(head) => head,
        };
        let response = metrics::http_response(&request, || self.metrics.render(&self.gauges()));
        self.metrics_conns.reply(self.poll.registry(), token, &response, false);
    }
}
