//! Black-box tests of the built `charcoal` binary: each starts the server on
//! port 0 in a temporary directory, talks to it over real sockets, and checks
//! the whisper files it writes with the reference (python3-whisper).

mod reference;
mod util;

mod bad_input;
mod carbon_conf;
mod carbonlink;
mod container;
mod crash;
mod diskfull;
mod events;
mod grafana;
mod limits;
mod receive;
mod relay;
mod render;
mod shutdown;
mod store_guarantees;
mod tags;
mod underneath;
