//! Line geometry of a source text: byte offsets of lines and span construction.

use codectx_core::Span;

/// The lines of a text. Line `i` (0-based) covers bytes `start(i)..content_end(i)`,
/// its terminator (`\n` or `\r\n`) excluded. A final line terminator does not start
/// another line; an empty text has no lines.
pub(crate) struct Lines<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        if !src.is_empty() {
            starts.push(0);
            starts.extend(src.match_indices('\n').map(|(i, _)| i + 1).filter(|&i| i < src.len()));
        }
        Lines { src, starts }
    }

    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    /// Number of lines.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// First byte of line `i`.
    pub(crate) fn start(&self, i: usize) -> usize {
        self.starts[i]
    }

    /// Byte after line `i` including its terminator.
    pub(crate) fn end_with_newline(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.src.len())
    }

    /// Byte after the content of line `i` (terminator excluded).
    pub(crate) fn content_end(&self, i: usize) -> usize {
        let start = self.starts[i];
        let mut end = self.end_with_newline(i);
        let bytes = self.src.as_bytes();
        if end > start && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        end
    }

    /// Content of line `i`.
    pub(crate) fn line(&self, i: usize) -> &'a str {
        &self.src[self.starts[i]..self.content_end(i)]
    }

    /// Text of lines `a..=b`, the last terminator excluded.
    pub(crate) fn text(&self, a: usize, b: usize) -> &'a str {
        &self.src[self.starts[a]..self.content_end(b)]
    }

    /// 0-based line of a byte offset (offsets past the end map to the last line).
    pub(crate) fn line_of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&start| start <= byte).saturating_sub(1)
    }

    /// 0-based line of the last byte of `start..end` (of `start` when empty).
    pub(crate) fn last_line_of(&self, start: usize, end: usize) -> usize {
        self.line_of(if end > start { end - 1 } else { start })
    }

    /// Whether line `i` holds only whitespace.
    pub(crate) fn is_blank(&self, i: usize) -> bool {
        self.line(i).bytes().all(|b| b.is_ascii_whitespace())
    }

    /// The span of bytes `start..end`, with 1-based inclusive lines.
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        if self.starts.is_empty() {
            return Span::default();
        }
        Span {
            start_byte: start as u32,
            end_byte: end as u32,
            start_line: self.line_of(start) as u32 + 1,
            end_line: self.last_line_of(start, end) as u32 + 1,
        }
    }

    /// The span of whole lines `a..=b` (0-based), the last terminator excluded.
    pub(crate) fn line_span(&self, a: usize, b: usize) -> Span {
        Span {
            start_byte: self.starts[a] as u32,
            end_byte: self.content_end(b) as u32,
            start_line: a as u32 + 1,
            end_line: b as u32 + 1,
        }
    }
}

/// Collapses runs of whitespace to one space and trims.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(1024));
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Truncates to at most `max` bytes on a char boundary, appending `…` when cut.
pub(crate) fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        text.truncate(text.floor_char_boundary(max));
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_spans() {
        let lines = Lines::new("a\r\nbb\n\nccc\n");
        assert_eq!(lines.len(), 4);
        assert_eq!(lines.line(0), "a");
        assert_eq!(lines.line(1), "bb");
        assert!(lines.is_blank(2));
        assert_eq!(lines.text(1, 3), "bb\n\nccc");
        assert_eq!(lines.line_of(4), 1);
        assert_eq!(lines.line_of(100), 3);
        let span = lines.span(3, 6);
        assert_eq!((span.start_line, span.end_line), (2, 2));
        assert_eq!(Lines::new("").len(), 0);
        assert_eq!(Lines::new("x").len(), 1);
        assert_eq!(collapse_whitespace("  fn  a(\n  b)  "), "fn a( b)");
        assert_eq!(truncate("héllo".into(), 2), "h…");
    }
}
