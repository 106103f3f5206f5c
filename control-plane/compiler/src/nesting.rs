//! A bound on how deep a source can make the parser recurse, checked
//! before it is parsed.
//!
//! The parser, the transformer and the code generator recurse once per
//! level of the syntax tree, on the thread's stack. A tree is never deeper
//! than the tokens on its deepest path, so this scan bounds that path
//! without parsing: brackets (`(`, `[`, `{`, `${`) open a level, and within
//! a level the tokens between two separators (`;` or `,`) are one segment,
//! whose depth is bounded by its token count plus the deepest level opened
//! inside it. A source within [`MAX_OPEN_BRACKETS`] and
//! [`MAX_SEGMENT_DEPTH`] cannot nest deeper than about their sum, which
//! [`crate::COMPILE_STACK_BYTES`] holds with a wide margin; anything else is
//! refused with the place where the bound was crossed.
//!
//! The scan reads tokens roughly (a regular expression after a keyword may
//! be read as code): it only ever overestimates, and real code is far from
//! the bounds.

use crate::{CompileError, SourceLocation};

/// Brackets open at once.
pub const MAX_OPEN_BRACKETS: usize = 512;

/// The bound on one segment's depth: its tokens plus the deepest bracket
/// inside it. Several thousand statements without a `;` in one block, or
/// one expression of tens of thousands of operators, are past it.
pub const MAX_SEGMENT_DEPTH: usize = 50_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Opened {
    Bracket,
    /// `${` inside a template literal: its `}` goes back into the template.
    Template,
}

struct Level {
    opened: Opened,
    /// Tokens of the segment being read.
    tokens: usize,
    /// The deepest level closed inside the segment being read.
    nested: usize,
    /// The deepest segment of the level so far.
    deepest: usize,
}

impl Level {
    fn new(opened: Opened) -> Self {
        Self {
            opened,
            tokens: 0,
            nested: 0,
            deepest: 0,
        }
    }

    fn segment(&self) -> usize {
        self.tokens + self.nested
    }

    fn end_segment(&mut self) {
        self.deepest = self.deepest.max(self.segment());
        self.tokens = 0;
        self.nested = 0;
    }
}

/// Checks `text`, the file `file` of a package.
pub fn check(file: &str, text: &str) -> Result<(), CompileError> {
    let bytes = text.as_bytes();
    let too_deep = |offset: usize, what: String| CompileError::TooDeep {
        at: SourceLocation::at_offset(file, text, offset),
        what,
    };
    let mut levels = vec![Level::new(Opened::Bracket)];
    let mut i = 0;
    // Whether a `/` here would start a regular expression rather than divide.
    let mut regex_allowed = true;
    // Set when a `}` closed a `${`: the template literal goes on.
    let mut in_template = false;
    while i < bytes.len() {
        if in_template {
            in_template = false;
            match scan_template(bytes, i) {
                TemplateEnd::Closed(next) => {
                    i = next;
                    regex_allowed = false;
                }
                TemplateEnd::Substitution(next) => {
                    i = next;
                    open(&mut levels, Opened::Template)
                        .map_err(|what| too_deep(i.saturating_sub(2), what))?;
                    regex_allowed = true;
                }
            }
            continue;
        }
        let byte = bytes[i];
        let start = i;
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr(bytes, i, b'\n').unwrap_or(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            b'\'' | b'"' => {
                i = skip_string(bytes, i);
                regex_allowed = false;
            }
            b'`' => match scan_template(bytes, i + 1) {
                TemplateEnd::Closed(next) => {
                    i = next;
                    regex_allowed = false;
                }
                TemplateEnd::Substitution(next) => {
                    i = next;
                    count(&mut levels);
                    open(&mut levels, Opened::Template).map_err(|what| too_deep(start, what))?;
                    regex_allowed = true;
                    check_segment(&levels).map_err(|what| too_deep(start, what))?;
                    continue;
                }
            },
            b'/' if regex_allowed => {
                i = skip_regex(bytes, i);
                regex_allowed = false;
            }
            b'(' | b'[' | b'{' => {
                count(&mut levels);
                open(&mut levels, Opened::Bracket).map_err(|what| too_deep(start, what))?;
                i += 1;
                regex_allowed = true;
                continue;
            }
            b')' | b']' | b'}' => {
                i += 1;
                // A stray closer is the parser's to report.
                if levels.len() > 1 {
                    let mut closed = levels.pop().expect("more than one level");
                    closed.end_segment();
                    let parent = levels.last_mut().expect("the file's level");
                    parent.nested = parent.nested.max(closed.deepest + 1);
                    if closed.opened == Opened::Template {
                        in_template = true;
                    }
                }
                regex_allowed = byte == b'}';
                check_segment(&levels).map_err(|what| too_deep(start, what))?;
                continue;
            }
            b';' | b',' => {
                levels.last_mut().expect("the file's level").end_segment();
                i += 1;
                regex_allowed = true;
                continue;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'$'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                // After a keyword that takes an operand, `/` starts a regex.
                regex_allowed = matches!(
                    &bytes[start..i],
                    b"return"
                        | b"typeof"
                        | b"case"
                        | b"do"
                        | b"else"
                        | b"in"
                        | b"of"
                        | b"new"
                        | b"delete"
                        | b"void"
                        | b"throw"
                        | b"yield"
                        | b"await"
                        | b"instanceof"
                );
            }
            _ => {
                // Every operator character is a token of its own: `!!!x`
                // nests three times.
                i += 1;
                regex_allowed = true;
            }
        }
        count(&mut levels);
        check_segment(&levels).map_err(|what| too_deep(start, what))?;
    }
    Ok(())
}

fn count(levels: &mut [Level]) {
    levels.last_mut().expect("the file's level").tokens += 1;
}

fn open(levels: &mut Vec<Level>, opened: Opened) -> Result<(), String> {
    if levels.len() > MAX_OPEN_BRACKETS {
        return Err(format!(
            "the code nests too deeply: more than {MAX_OPEN_BRACKETS} brackets open at once"
        ));
    }
    levels.push(Level::new(opened));
    Ok(())
}

fn check_segment(levels: &[Level]) -> Result<(), String> {
    let level = levels.last().expect("the file's level");
    if level.segment() > MAX_SEGMENT_DEPTH {
        return Err(format!(
            "the code nests too deeply: one expression or block runs more than \
             {MAX_SEGMENT_DEPTH} tokens deep without a `;` or `,`; split it up"
        ));
    }
    Ok(())
}

enum TemplateEnd {
    /// The index after the closing backtick.
    Closed(usize),
    /// The index after a `${`.
    Substitution(usize),
}

/// Reads template text from `i` to its end or its next substitution.
fn scan_template(bytes: &[u8], mut i: usize) -> TemplateEnd {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => return TemplateEnd::Closed(i + 1),
            b'$' if bytes.get(i + 1) == Some(&b'{') => return TemplateEnd::Substitution(i + 2),
            _ => i += 1,
        }
    }
    TemplateEnd::Closed(bytes.len())
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_regex(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            b'[' => {
                in_class = true;
                i += 1;
            }
            b']' => {
                in_class = false;
                i += 1;
            }
            b'/' if !in_class => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn memchr(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == needle)
        .map(|at| from + at)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| from + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str) -> Option<SourceLocation> {
        match check("a.ts", text) {
            Ok(()) => None,
            Err(CompileError::TooDeep { at, .. }) => Some(at),
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn ordinary_code_passes() {
        let code = r#"
            // a comment with ((((( and "quotes"
            /* and [[[[ */
            const re = /[(\[{]+/g, s = "(((", t = `a ${ (1 + 2) } b ${ `${x}` } c`;
            export async function execute(event, api) {
                if (event.user.email.endsWith("@x.com")) { api.access.deny("no") }
                return a / b / c;
            }
        "#;
        assert_eq!(depth_error(code), None);
    }

    #[test]
    fn brackets_past_the_limit_are_refused_where_they_cross_it() {
        let fits = format!(
            "x = {}1{};",
            "(".repeat(MAX_OPEN_BRACKETS),
            ")".repeat(MAX_OPEN_BRACKETS)
        );
        assert_eq!(depth_error(&fits), None);
        let deep = format!("\nx = {}", "[".repeat(200_000));
        let at = depth_error(&deep).expect("refused");
        assert_eq!((at.line, at.column), (2, 5 + MAX_OPEN_BRACKETS as u32));
    }

    #[test]
    fn long_chains_of_operators_are_refused() {
        assert_eq!(depth_error(&format!("x = {}1;", "!".repeat(1_000))), None);
        assert!(depth_error(&format!("x = {}1;", "!".repeat(MAX_SEGMENT_DEPTH + 1))).is_some());
        assert!(depth_error(&"1+".repeat(MAX_SEGMENT_DEPTH)).is_some());
        // Commas and semicolons end a segment.
        assert_eq!(depth_error(&"f(1);".repeat(MAX_SEGMENT_DEPTH)), None);
    }

    #[test]
    fn depth_inside_brackets_adds_to_the_segment_around_them() {
        let inner = format!("({})", "a+".repeat(15_000) + "a");
        let outer = format!("{inner}{}", "+a".repeat(15_000));
        assert!(depth_error(&outer).is_some());
        assert_eq!(
            depth_error(&format!("{inner};{}", "+a".repeat(15_000))),
            None
        );
    }

    #[test]
    fn template_substitutions_nest() {
        let deep = "`${".repeat(MAX_OPEN_BRACKETS + 1);
        assert!(depth_error(&deep).is_some());
    }
}
