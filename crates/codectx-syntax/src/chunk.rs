//! Syntax-aligned chunking and line windows.
//!
//! Chunks are whole lines: a chunk starts at the first byte of its first line and
//! ends at the end of its last line's content (terminator excluded), so chunks of a
//! file never overlap and never split a line. Blank lines at the edges of a chunk
//! are left out; every non-blank line belongs to exactly one chunk.
//!
//! Token budget: a range of lines fits the cap when its byte length is at most the
//! cap (a BPE token covers at least one byte, so no counting is needed), else when
//! the sum of its lines' token counts is at most the cap — confirmed by counting the
//! range's text when that sum comes within a quarter of the cap, since BPE pieces
//! can span lines. Each line is counted at most once per file (short lines are
//! memoised per thread across files); a line longer than [`LONG_LINE_FACTOR`] × cap bytes is taken
//! as over the cap without counting (it then stands alone, which is always allowed),
//! and a range longer than [`LONG_RANGE_FACTOR`] × cap bytes as not fitting (it is
//! then split further, which is always allowed). Both bound the cost of BPE, which
//! is superlinear on long runs of one character class.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use codectx_core::{tokens, Chunk, ChunkKind, Language, Symbol};

use crate::extract::{Extraction, SymLayout};
use crate::lines::Lines;
use crate::ChunkOptions;

/// Bytes per token above which a line is taken as over the cap without counting.
const LONG_LINE_FACTOR: usize = 4;
/// Bytes per token above which a range of lines is taken as not fitting.
const LONG_RANGE_FACTOR: usize = 12;
/// Deepest nesting of containers that are split into their members.
const MAX_SPLIT_DEPTH: usize = 16;
/// Most references kept per chunk.
const MAX_REFERENCES: usize = 64;
/// Most lines of a container header repeated as a member's context.
const MAX_HEADER_LINES: usize = 8;
const UNKNOWN: u32 = u32::MAX;
/// Lines up to this many bytes have their token counts memoised per thread (a
/// third of the bytes of code are lines seen before: `}`, `return Ok(())`, ...).
const MEMO_LINE_BYTES: usize = 160;
/// Entries of the per-thread memo before it is cleared.
const MEMO_ENTRIES: usize = 1 << 16;

thread_local! {
    static LINE_TOKENS: RefCell<HashMap<Box<str>, u32>> = RefCell::new(HashMap::new());
}

/// `tokens::count` of one line, memoised for short lines.
fn line_tokens(text: &str) -> usize {
    if text.len() > MEMO_LINE_BYTES {
        return tokens::count(text);
    }
    LINE_TOKENS
        .try_with(|memo| {
            let Ok(mut memo) = memo.try_borrow_mut() else {
                return tokens::count(text);
            };
            if let Some(&count) = memo.get(text) {
                return count as usize;
            }
            let count = tokens::count(text);
            if memo.len() >= MEMO_ENTRIES {
                memo.clear();
            }
            memo.insert(text.into(), count as u32);
            count
        })
        .unwrap_or_else(|_| tokens::count(text))
}

/// Line windows of a file without a grammar (or whose parse failed): at most
/// `window_lines` lines and `chunk_tokens` tokens each, preferring to break at a
/// blank line in the second half of a window (and, for Markdown, before a heading).
pub(crate) fn windows(language: Language, source: &str, options: &ChunkOptions) -> Vec<Chunk> {
    let mut chunker = Chunker::new(source, options.chunk_tokens, &[], &[]);
    let n = chunker.lines.len();
    if n == 0 {
        return Vec::new();
    }
    let ranges = chunker.pack(0, n - 1, options.window_lines, 2, language == Language::Markdown);
    for (a, b) in ranges {
        chunker.push(a, b, ChunkKind::Window, None, "", None);
    }
    chunker.out
}

/// Chunks of a parsed file: definitions, split containers, windows of oversized
/// definitions and grouped top-level code (see the crate docs), with references.
pub(crate) fn chunk_code(source: &str, extraction: &Extraction, options: &ChunkOptions) -> Vec<Chunk> {
    let mut chunker = Chunker::new(source, options.chunk_tokens, &extraction.symbols, &extraction.layout);
    let n = chunker.lines.len();
    if n == 0 {
        return Vec::new();
    }
    // Members of each own-chunk symbol: the own-chunk symbols whose nearest
    // own-chunk ancestor it is. Index `len` holds the top level.
    let symbols = &extraction.symbols;
    let layout = &extraction.layout;
    let mut chunk_parent: Vec<Option<usize>> = Vec::with_capacity(symbols.len());
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); symbols.len() + 1];
    for (i, symbol) in symbols.iter().enumerate() {
        let mut up = symbol.parent.map(|p| p as usize).filter(|&p| p < i);
        while let Some(p) = up {
            if layout[p].own_chunk {
                break;
            }
            up = chunk_parent[p];
        }
        chunk_parent.push(up);
        if layout[i].own_chunk {
            children[up.unwrap_or(symbols.len())].push(i as u32);
        }
    }
    let top = std::mem::take(&mut children[symbols.len()]);
    chunker.children = children;
    let ctx = Ctx {
        kind: ChunkKind::TopLevel,
        symbol: None,
        path: "",
        header_line: None,
        member_header: None,
        outer_header: None,
        depth: 0,
    };
    chunker.layout(0, n - 1, &top, &ctx);
    chunker.add_references(&extraction.refs);
    chunker.out
}

/// Where a region being laid out sits.
struct Ctx<'c> {
    /// Kind of the chunks of code between members: TopLevel, or Header in a split container.
    kind: ChunkKind,
    /// The container, if any.
    symbol: Option<u32>,
    /// Its qualified name, or empty.
    path: &'c str,
    /// Line of the container's head (a Header chunk starting at or before it carries
    /// `outer_header`, the others `member_header`).
    header_line: Option<usize>,
    /// Context header of members (the container's header, after its own context).
    member_header: Option<&'c str>,
    /// Context header of the container itself.
    outer_header: Option<&'c str>,
    depth: usize,
}

struct Item {
    first: usize,
    last: usize,
    symbol: usize,
    /// Several definitions sharing lines, chunked together.
    multi: bool,
}

struct Chunker<'a> {
    lines: Lines<'a>,
    blank: Vec<bool>,
    costs: Vec<u32>,
    cap: usize,
    symbols: &'a [Symbol],
    layout: &'a [SymLayout],
    children: Vec<Vec<u32>>,
    out: Vec<Chunk>,
}

impl<'a> Chunker<'a> {
    fn new(source: &'a str, cap: usize, symbols: &'a [Symbol], layout: &'a [SymLayout]) -> Self {
        let lines = Lines::new(source);
        let blank = (0..lines.len()).map(|i| lines.is_blank(i)).collect();
        let costs = vec![UNKNOWN; lines.len()];
        Chunker { lines, blank, costs, cap: cap.max(1), symbols, layout, children: Vec::new(), out: Vec::new() }
    }

    /// Tokens of line `i` with its terminator (over the cap for very long lines).
    fn cost(&mut self, i: usize) -> usize {
        if self.costs[i] == UNKNOWN {
            let text = &self.lines.src()[self.lines.start(i)..self.lines.end_with_newline(i)];
            let cost = if text.len() <= 1 {
                text.len()
            } else if text.len() > self.cap.saturating_mul(LONG_LINE_FACTOR) {
                self.cap + 1
            } else {
                line_tokens(text)
            };
            self.costs[i] = cost.min(UNKNOWN as usize - 1) as u32;
        }
        self.costs[i] as usize
    }

    /// Whether lines `a..=b` fit the cap: free when the bytes alone prove it, else
    /// by the sum of the lines' counts, confirmed by counting the text itself when
    /// that sum is within a quarter of the cap (a text can take a few more tokens
    /// than its lines counted apart: pieces such as `;\n//` span lines).
    fn fits(&mut self, a: usize, b: usize) -> bool {
        let bytes = self.lines.content_end(b) - self.lines.start(a);
        if bytes <= self.cap {
            return true;
        }
        if bytes > self.cap.saturating_mul(LONG_RANGE_FACTOR) {
            return false;
        }
        let mut sum = 0;
        for i in a..=b {
            sum += self.cost(i);
            if sum > self.cap {
                return false;
            }
        }
        if a == b || sum * 4 <= self.cap * 3 {
            return true;
        }
        tokens::count(self.lines.text(a, b)) <= self.cap
    }

    /// Splits (in halves, by line counts) any range of `ranges` that does not fit.
    fn enforce_cap(&mut self, ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(ranges.len());
        let mut stack: Vec<(usize, usize)> = ranges.into_iter().rev().collect();
        while let Some((s, e)) = stack.pop() {
            if s >= e || self.fits(s, e) {
                out.push((s, e));
                continue;
            }
            let total: usize = (s..=e).map(|i| self.cost(i)).sum();
            let mut so_far = 0;
            let mut middle = s;
            for i in s..e {
                so_far += self.cost(i);
                middle = i;
                if so_far * 2 >= total {
                    break;
                }
            }
            for (from, to) in [(middle + 1, e), (s, middle)] {
                let (mut from, mut to) = (from, to);
                while from < to && self.blank[from] {
                    from += 1;
                }
                while to > from && self.blank[to] {
                    to -= 1;
                }
                if !self.blank[from] {
                    stack.push((from, to));
                }
            }
        }
        out
    }

    /// Appends a chunk of lines `a..=b` with blank edge lines trimmed (nothing if all blank).
    fn push(&mut self, a: usize, b: usize, kind: ChunkKind, symbol: Option<u32>, path: &str, header: Option<&str>) {
        let (mut a, mut b) = (a, b);
        while a <= b && self.blank[a] {
            a += 1;
        }
        while b > a && self.blank[b] {
            b -= 1;
        }
        if a > b || self.blank[a] {
            return;
        }
        self.out.push(Chunk {
            span: self.lines.line_span(a, b),
            kind,
            symbol_path: path.to_string(),
            symbol,
            context_header: header.map(str::to_string),
            references: Vec::new(),
            content_hash: 0,
        });
    }

    /// Splits lines `a..=b` into ranges within the cap and `max_lines`.
    ///
    /// Greedy, then (without a line limit) balanced: among the splits into as few
    /// ranges as greedy needs, the one whose largest range is smallest, so that a
    /// definition twice the cap becomes two halves rather than a full window and a
    /// crumb. When a range must end, it ends before its last blank line if that lies
    /// past `1/blank_fraction` of the range. With `headings`, a Markdown heading
    /// starts a new range once the current one has a third of `max_lines`. A final
    /// range of only closing punctuation joins the range before it when that fits.
    fn pack(
        &mut self,
        a: usize,
        b: usize,
        max_lines: usize,
        blank_fraction: usize,
        headings: bool,
    ) -> Vec<(usize, usize)> {
        let Some(first) = (a..=b).find(|&i| !self.blank[i]) else {
            return Vec::new();
        };
        if b - first < max_lines && self.fits(first, b) {
            return vec![(first, b)];
        }
        let mut out = self.pack_within(first, b, self.cap, max_lines, blank_fraction, headings);
        if max_lines == usize::MAX && out.len() > 1 {
            let count = out.len();
            let total: usize = (first..=b).map(|line| self.cost(line)).sum();
            let (mut low, mut high) = (total.div_ceil(count).min(self.cap), self.cap);
            while low < high {
                let middle = (low + high) / 2;
                if self.pack_within(first, b, middle, max_lines, blank_fraction, headings).len() <= count {
                    high = middle;
                } else {
                    low = middle + 1;
                }
            }
            if high < self.cap {
                out = self.pack_within(first, b, high, max_lines, blank_fraction, headings);
            }
        }
        let mut out = self.enforce_cap(out);
        if out.len() >= 2 {
            let (last_start, last_end) = out[out.len() - 1];
            let (previous_start, _) = out[out.len() - 2];
            if max_lines == usize::MAX
                && self.punctuation_only(last_start, last_end)
                && self.fits(previous_start, last_end)
            {
                out.pop();
                if let Some(previous) = out.last_mut() {
                    previous.1 = last_end;
                }
            }
        }
        out
    }

    /// Greedy split of lines `first..=b` (`first` not blank) into ranges of at most
    /// `target` tokens (a single line may exceed it) and `max_lines` lines.
    fn pack_within(
        &mut self,
        first: usize,
        b: usize,
        target: usize,
        max_lines: usize,
        blank_fraction: usize,
        headings: bool,
    ) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = Vec::new();
        let mut i = first;
        let mut start = i;
        let mut sum = 0usize;
        let mut last_blank: Option<usize> = None;
        while i <= b {
            if start == i && self.blank[i] {
                start += 1;
                i += 1;
                continue;
            }
            let cost = self.cost(i);
            let heading = headings && i > start && (i - start) * 3 >= max_lines && self.lines.line(i).starts_with('#');
            if i > start && (sum + cost > target || i - start >= max_lines || heading) {
                let cut = match last_blank {
                    Some(k) if k > start && (k - start) * blank_fraction >= i - start && !heading => k,
                    _ => i,
                };
                out.push((start, cut - 1));
                start = cut;
                sum = 0;
                last_blank = None;
                for s in cut..i {
                    if start == s && self.blank[s] {
                        start += 1;
                    } else {
                        sum += self.cost(s);
                        if self.blank[s] {
                            last_blank = Some(s);
                        }
                    }
                }
                continue;
            }
            sum += cost;
            if self.blank[i] {
                last_blank = Some(i);
            }
            i += 1;
        }
        if start <= b {
            out.push((start, b));
        }
        out.retain_mut(|(s, e)| {
            while *e > *s && self.blank[*e] {
                *e -= 1;
            }
            !self.blank[*s]
        });
        out
    }

    /// Whether lines `a..=b` hold no letter, digit or `_` (closing braces and the like).
    fn punctuation_only(&self, a: usize, b: usize) -> bool {
        (a..=b).all(|i| !self.lines.line(i).chars().any(|c| c.is_alphanumeric() || c == '_'))
    }

    /// Lays out lines `lo..=hi` holding the own-chunk definitions `members`.
    fn layout(&mut self, lo: usize, hi: usize, members: &[u32], ctx: &Ctx) {
        let mut items: Vec<Item> = Vec::with_capacity(members.len());
        for &member in members {
            let m = member as usize;
            let span = self.symbols[m].span;
            let head = self.lines.line_of(span.start_byte as usize).max(lo);
            let last = self.lines.last_line_of(span.start_byte as usize, span.end_byte as usize).min(hi);
            let mut first = self.lines.line_of(self.layout[m].lead_start).max(lo).min(head);
            if let Some(previous) = items.last_mut() {
                if head <= previous.last {
                    previous.last = previous.last.max(last);
                    previous.multi = true;
                    continue;
                }
                first = first.max(previous.last + 1);
            }
            if last < head {
                continue;
            }
            items.push(Item { first, last, symbol: m, multi: false });
        }
        let mut cursor = lo;
        for item in &items {
            if item.first > cursor {
                self.gap(cursor, item.first - 1, ctx);
            }
            self.item(item, ctx);
            cursor = item.last + 1;
        }
        if cursor <= hi {
            self.gap(cursor, hi, ctx);
        }
    }

    /// Code between definitions: TopLevel or Header chunks. A gap of only closing
    /// punctuation (`}`, `});`) joins the chunk before it when that still fits.
    fn gap(&mut self, a: usize, b: usize, ctx: &Ctx) {
        let Some(first) = (a..=b).find(|&i| !self.blank[i]) else {
            return;
        };
        let last = (first..=b).rev().find(|&i| !self.blank[i]).unwrap_or(first);
        if last - first < 4 && self.punctuation_only(first, last) {
            if let Some(previous) = self.out.last() {
                let previous_first = previous.span.start_line as usize - 1;
                let previous_last = previous.span.end_line as usize - 1;
                if previous_last < first && self.fits(previous_first, last) {
                    let span = self.lines.line_span(previous_first, last);
                    if let Some(previous) = self.out.last_mut() {
                        previous.span = span;
                    }
                    return;
                }
            }
        }
        let ranges = self.pack(first, last, usize::MAX, 4, false);
        for (s, e) in ranges {
            let header = match ctx.header_line {
                Some(line) if s <= line => ctx.outer_header,
                _ => ctx.member_header,
            };
            self.push(s, e, ctx.kind, ctx.symbol, ctx.path, header);
        }
    }

    /// One definition (or several sharing lines): a Definition chunk if it fits,
    /// else a split container, else Window pieces.
    fn item(&mut self, item: &Item, ctx: &Ctx) {
        let symbols = self.symbols;
        let symbol = &symbols[item.symbol];
        let path = symbol.qualified_name.as_str();
        let index = Some(item.symbol as u32);
        if self.fits(item.first, item.last) {
            self.push(item.first, item.last, ChunkKind::Definition, index, path, ctx.member_header);
            return;
        }
        let members = self.children.get(item.symbol).cloned().unwrap_or_default();
        if !item.multi && symbol.kind.is_container() && ctx.depth < MAX_SPLIT_DEPTH && !members.is_empty() {
            let own = self.container_header(item.symbol);
            let combined = match (ctx.member_header, own.as_deref()) {
                (Some(outer), Some(own)) => Some(format!("{outer}\n{own}")),
                (None, Some(own)) => Some(own.to_string()),
                (outer, None) => outer.map(str::to_string),
            };
            let inner = Ctx {
                kind: ChunkKind::Header,
                symbol: index,
                path,
                header_line: Some(self.lines.line_of(self.layout[item.symbol].sig_start)),
                member_header: combined.as_deref(),
                outer_header: ctx.member_header,
                depth: ctx.depth + 1,
            };
            self.layout(item.first, item.last, &members, &inner);
            return;
        }
        for (a, b) in self.pack(item.first, item.last, usize::MAX, 2, false) {
            self.push(a, b, ChunkKind::Window, index, path, ctx.member_header);
        }
    }

    /// The header line(s) of a container: from its head's line through the line
    /// where its head ends (`impl Walker {`, `class Session(SessionRedirectMixin):`);
    /// its signature if that is too long.
    fn container_header(&self, symbol: usize) -> Option<String> {
        let layout = &self.layout[symbol];
        let first = self.lines.line_of(layout.sig_start);
        let last = match layout.head_end {
            Some(head_end) if head_end > layout.sig_start => self.lines.line_of(head_end - 1).max(first),
            _ => first,
        };
        if last - first >= MAX_HEADER_LINES {
            let signature = &self.symbols[symbol].signature;
            return (!signature.is_empty()).then(|| signature.clone());
        }
        let text = self.lines.text(first, last);
        let text = text.trim_end();
        (!text.trim().is_empty()).then(|| text.to_string())
    }

    /// Fills each chunk's references: identifiers referenced inside it, in order of
    /// first use, without the names it defines, at most [`MAX_REFERENCES`].
    fn add_references(&mut self, refs: &[(u32, u32)]) {
        let src = self.lines.src();
        let mut defined: Vec<(u32, &str)> =
            self.symbols.iter().map(|symbol| (symbol.name_span.start_byte, symbol.name.as_str())).collect();
        defined.sort_unstable();
        let mut names: HashSet<&str> = HashSet::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for chunk in &mut self.out {
            let (start, end) = (chunk.span.start_byte, chunk.span.end_byte);
            names.clear();
            let from = defined.partition_point(|&(at, _)| at < start);
            for &(at, name) in &defined[from..] {
                if at >= end {
                    break;
                }
                names.insert(name);
            }
            seen.clear();
            let from = refs.partition_point(|&(at, _)| at < start);
            for &(ref_start, ref_end) in &refs[from..] {
                if ref_start >= end || chunk.references.len() >= MAX_REFERENCES {
                    break;
                }
                let Some(text) = src.get(ref_start as usize..ref_end as usize) else { continue };
                if names.contains(text) || !seen.insert(text) {
                    continue;
                }
                chunk.references.push(text.to_string());
            }
        }
    }
}
