//! The runner's integration tests, in one binary (one link of wasmtime):
//! the sandbox library through its real parts, then the service over real
//! sockets.

mod hostile;
mod sandbox;
mod service;
