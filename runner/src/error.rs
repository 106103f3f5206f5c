//! The runner library's one error type.

/// Why the sandbox could not be set up, a module could not be loaded, or the
/// runner's settings or flows are unusable. Failures of a run are never
/// errors: they are [`crate::Outcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// wasmtime refused the engine configuration.
    #[error("configuring the engine: {0}")]
    Engine(wasmtime::Error),
    /// The plugin could not be compiled or linked.
    #[error("preparing the plugin: {0}")]
    Plugin(String),
    /// The module is not one the Actions compiler made.
    #[error("not a valid Action module: {0}")]
    InvalidModule(String),
    /// The runner's settings or flows are wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// Asked to serve without its tokens, and not allowed to.
    #[error("{0}")]
    WithoutTokens(#[from] actions_proto::bearer::ServingWithoutTokens),
    /// The module was compiled for another plugin build; recompile it from source.
    #[error(
        "the module was compiled for plugin {module}, this runner has plugin {runner}; recompile the Action"
    )]
    PluginMismatch {
        /// The plugin the module names.
        module: String,
        /// This runner's plugin.
        runner: String,
    },
}
