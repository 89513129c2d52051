//! Per-thread parsers and query cursors, and parsing with a deadline.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use tree_sitter::{ParseOptions, ParseState, Parser, QueryCursor, Tree};

use crate::languages::{Grammar, SPECS};

struct ThreadState {
    parsers: Vec<Option<Parser>>,
    cursor: QueryCursor,
}

thread_local! {
    static STATE: RefCell<ThreadState> = RefCell::new(ThreadState {
        parsers: (0..SPECS.len()).map(|_| None).collect(),
        cursor: QueryCursor::new(),
    });
}

/// The result of [`with_tree`].
pub(crate) enum Outcome<T> {
    /// The file parsed (possibly with errors); the callback's result.
    Parsed(T),
    /// Parsing hit the deadline.
    TimedOut,
    /// The parser could not be set up or gave no tree.
    Failed,
}

/// A deadline `timeout` from now (`None` for no limit).
pub(crate) fn deadline(timeout: Duration) -> Option<Instant> {
    if timeout.is_zero() {
        None
    } else {
        Instant::now().checked_add(timeout)
    }
}

/// Parses `source` with this thread's parser for the grammar, then calls `f` with
/// the tree and this thread's query cursor. Parsing stops at `timeout`.
pub(crate) fn with_tree<T>(
    grammar: &Grammar,
    source: &str,
    timeout: Duration,
    f: impl FnOnce(&Tree, &mut QueryCursor) -> T,
) -> Outcome<T> {
    let Some(slot) = SPECS.iter().position(|spec| spec.language == grammar.language()) else {
        return Outcome::Failed;
    };
    // The callback needs the state only after parsing; parse inside one borrow, and
    // release it before `f` so that a (hypothetical) nested call cannot double-borrow.
    let parsed = STATE.try_with(|state| {
        let Ok(mut state) = state.try_borrow_mut() else {
            return Err(false);
        };
        let parser = match &mut state.parsers[slot] {
            Some(parser) => parser,
            empty => {
                let mut parser = Parser::new();
                if parser.set_language(grammar.ts_language()).is_err() {
                    return Err(false);
                }
                empty.insert(parser)
            }
        };
        // A parse halted by the deadline leaves state behind; always start afresh.
        parser.reset();
        let deadline = deadline(timeout);
        let mut timed_out = false;
        let mut progress = |_: &ParseState| {
            let late = deadline.is_some_and(|deadline| Instant::now() >= deadline);
            timed_out |= late;
            late
        };
        let bytes = source.as_bytes();
        let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
        let tree =
            parser.parse_with_options(&mut read, None, Some(ParseOptions::new().progress_callback(&mut progress)));
        match tree {
            Some(tree) => Ok(tree),
            None => {
                parser.reset();
                Err(timed_out)
            }
        }
    });
    // The thread-local state is gone only while the thread is being torn down.
    let tree = match parsed {
        Ok(Ok(tree)) => tree,
        Ok(Err(true)) => return Outcome::TimedOut,
        Ok(Err(false)) | Err(_) => return Outcome::Failed,
    };
    let mut f = Some(f);
    let result = STATE.try_with(|state| {
        let f = f.take()?;
        Some(match state.try_borrow_mut() {
            Ok(mut state) => f(&tree, &mut state.cursor),
            Err(_) => f(&tree, &mut QueryCursor::new()),
        })
    });
    match (result, f) {
        (Ok(Some(value)), _) => Outcome::Parsed(value),
        (_, Some(f)) => Outcome::Parsed(f(&tree, &mut QueryCursor::new())),
        (_, None) => Outcome::Failed,
    }
}
