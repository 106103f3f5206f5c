//! What can go wrong when compiling an Action.

use std::fmt;

/// A place in an Action's source: file (package-relative), 1-based line and
/// 1-based column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file, relative to the package root, with `/` separators.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl SourceLocation {
    /// The location of byte `offset` in `text`, a file of the package.
    pub fn at_offset(file: &str, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Self {
            file: file.to_owned(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// The start of `file`.
    pub fn start_of(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            line: 1,
            column: 1,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why an Action did not compile. Nothing is produced when any of these is
/// returned.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// The TypeScript or JavaScript does not parse, or breaks an early-error rule.
    #[error("{at}: syntax error: {message}")]
    Syntax {
        /// Where.
        at: SourceLocation,
        /// What the parser expected or found.
        message: String,
    },
    /// The entry module has no `execute` export, nor an Auth0 handler.
    #[error(
        "{at}: the entry module must export a function named `execute`, \
         for example `export async function execute(event, api) {{ ... }}`, \
         or assign an Auth0 handler such as \
         `exports.onExecutePostLogin = async (event, api) => {{ ... }}`"
    )]
    MissingExecute {
        /// The entry module.
        at: SourceLocation,
    },
    /// An import of a package, a URL or an absolute path.
    #[error(
        "{at}: cannot import {specifier:?}: only relative imports of the Action's own files \
         (starting with './' or '../') can be bundled"
    )]
    NonRelativeImport {
        /// Where the import is.
        at: SourceLocation,
        /// What was imported.
        specifier: String,
    },
    /// A relative import that names no file of the package.
    #[error("{at}: cannot import {specifier:?}: no such file in the package (tried {tried})")]
    UnresolvedImport {
        /// Where the import is.
        at: SourceLocation,
        /// What was imported.
        specifier: String,
        /// The candidates that were looked for.
        tried: String,
    },
    /// Modules that import each other in a cycle.
    #[error(
        "{at}: circular import: {cycle}; break the cycle by moving shared code into its own file"
    )]
    CircularImport {
        /// The import that closes the cycle.
        at: SourceLocation,
        /// The files of the cycle, `a.ts -> b.ts -> a.ts`.
        cycle: String,
    },
    /// A construct the sandbox cannot run.
    #[error("{at}: {construct} is not supported in Actions")]
    Unsupported {
        /// Where.
        at: SourceLocation,
        /// What, e.g. "a decorator" or "dynamic import()".
        construct: String,
    },
    /// Code nested past what the compiler takes (see
    /// [`crate::MAX_OPEN_BRACKETS`] and [`crate::MAX_SEGMENT_DEPTH`]).
    #[error("{at}: {what}")]
    TooDeep {
        /// Where the bound was crossed.
        at: SourceLocation,
        /// Which bound.
        what: String,
    },
    /// A source file that is not UTF-8.
    #[error(
        "{at}: the file is not valid UTF-8 (first bad byte at offset {offset}); save it as UTF-8"
    )]
    NotUtf8 {
        /// Where the first invalid byte is.
        at: SourceLocation,
        /// Its byte offset.
        offset: usize,
    },
    /// A source file that holds nothing but whitespace.
    #[error("{at}: the file is empty")]
    EmptyFile {
        /// The file.
        at: SourceLocation,
    },
    /// A file whose extension is not one the compiler reads.
    #[error("{file}: unsupported file type; Actions are written in .ts, .mts, .js or .mjs")]
    UnsupportedFileType {
        /// The file.
        file: String,
    },
    /// The package has no entry file.
    #[error("the package has no entry file {entry:?}")]
    MissingEntry {
        /// The entry that was expected.
        entry: String,
    },
    /// The package, or one file of it, is over the size limit.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What is too large.
        what: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A file path in the package that is absolute, climbs out of the package or is not UTF-8.
    #[error("{path:?} is not a valid path inside the package: {reason}")]
    BadPath {
        /// The path.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// QuickJS refused the bundle (should not happen after the checks above).
    #[error("the JavaScript engine refused the bundle: {message}")]
    Bytecode {
        /// QuickJS's message.
        message: String,
    },
    /// Reading the package from disk failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The plugin could not be loaded or run: a broken build, not bad input.
    #[error("internal compiler error: {0}")]
    Internal(String),
}

impl CompileError {
    /// Where in the source the error is, when it has a place.
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            Self::Syntax { at, .. }
            | Self::MissingExecute { at }
            | Self::NonRelativeImport { at, .. }
            | Self::UnresolvedImport { at, .. }
            | Self::CircularImport { at, .. }
            | Self::Unsupported { at, .. }
            | Self::NotUtf8 { at, .. }
            | Self::TooDeep { at, .. }
            | Self::EmptyFile { at } => Some(at),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "let a = 1;\nlet é = 2; x\n";
        let at = SourceLocation::at_offset("a.ts", text, text.find('x').unwrap_or(0));
        assert_eq!((at.line, at.column), (2, 12));
        assert_eq!(at.to_string(), "a.ts:2:12");
    }
}
