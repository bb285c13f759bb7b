//! How wide the terminal is, and prose broken to fit it: the table exporter keeps a table's
//! columns within [`terminal_width`] and passes every sentence through [`wrap`]. A file, or a
//! table asked for `--wide`, is written at full width; only what a person reads on a terminal
//! is fitted.
//!
//! Widths are counted in `char`s: every character pooltune writes (µ, ±, ×, σ, κ, λ) takes
//! one terminal column.

use crate::platform::Stream;

/// The width assumed when the terminal's is unknown (not a terminal, no `COLUMNS`): the
/// classic 80 columns, which every terminal has at least.
pub const DEFAULT_WIDTH: usize = 80;

/// The narrowest width a fitted table is laid out for: below it, the essential columns and
/// the words are kept whole and lines run over.
pub const MIN_WIDTH: usize = 20;

/// The width of the terminal `stream` writes to: `COLUMNS` when it holds a positive number
/// (as shells and Python's `shutil.get_terminal_size` take it), else the terminal's own size
/// (`TIOCGWINSZ`, the Windows console's window), else [`DEFAULT_WIDTH`] when it is no terminal
/// or says no size.
pub fn terminal_width(stream: Stream) -> usize {
    let columns = std::env::var("COLUMNS").ok();
    width_from(columns.as_deref(), || {
        crate::platform::terminal_columns(stream)
    })
}

/// [`terminal_width`] with the environment's `COLUMNS` and the terminal's answer given.
fn width_from(columns: Option<&str>, tty: impl FnOnce() -> Option<usize>) -> usize {
    columns
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .or_else(tty)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// `text` broken at spaces into lines of at most `width` characters: the first line starts
/// with `first`, the others with `rest`. A word longer than a line's room (a long path) is
/// kept whole on a line of its own, the only case where a line is longer than `width`.
/// Runs of spaces between words become one; each line ends without a newline.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        let length = line.chars().count();
        let needed = if empty { 0 } else { 1 } + word.chars().count();
        if !empty && length + needed > width {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// One line of prose as it is written: unchanged at full width (`width` None), else wrapped
/// with the continuation lines indented two spaces more than the line's own indent.
pub fn fit_line(text: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![text.to_owned()];
    };
    if text.chars().count() <= width {
        return vec![text.to_owned()];
    }
    let indent: String = text.chars().take_while(|c| *c == ' ').collect();
    wrap(text, width, &indent, &format!("{indent}  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_wins_then_the_terminal_then_80() {
        assert_eq!(width_from(Some("120"), || Some(100)), 120);
        assert_eq!(width_from(None, || Some(100)), 100);
        assert_eq!(width_from(Some("wide"), || Some(100)), 100);
        assert_eq!(width_from(Some("0"), || None), DEFAULT_WIDTH);
        assert_eq!(width_from(None, || None), DEFAULT_WIDTH);
        assert_eq!(width_from(Some("3"), || None), MIN_WIDTH);
    }

    #[test]
    fn a_sentence_wraps_at_word_boundaries_within_the_width() {
        let sentence = "Use 20 threads: throughput rises until 20 threads and flattens at the \
                        two CPUs' limit (about 1960 tasks/s), within 2% of the best measured.";
        for width in [30, 47, 80] {
            let lines = wrap(sentence, width, "recommendation: ", "                ");
            assert!(lines.len() > 1, "{lines:?}");
            for line in &lines {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
            assert!(lines[0].starts_with("recommendation: Use"));
            // Every word is there, whole and in order: nothing was cut mid-word.
            let words: Vec<&str> = lines
                .iter()
                .enumerate()
                .flat_map(|(i, line)| {
                    let body = if i == 0 {
                        &line["recommendation: ".len()..]
                    } else {
                        line.strip_prefix("                ").unwrap()
                    };
                    body.split(' ')
                })
                .collect();
            assert_eq!(words, sentence.split(' ').collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_kept_whole() {
        let lines = wrap("see /a/very/long/path/to/a/file.json now", 12, "", "  ");
        assert_eq!(
            lines,
            ["see", "  /a/very/long/path/to/a/file.json", "  now"]
        );
    }

    #[test]
    fn full_width_leaves_a_line_as_it_is() {
        let line = "  formula:   N = N_cpu × U".to_owned();
        assert_eq!(fit_line(&line, None), std::slice::from_ref(&line));
        assert_eq!(fit_line(&line, Some(80)), std::slice::from_ref(&line));
        assert_eq!(
            fit_line(&line, Some(16)),
            ["  formula: N =", "    N_cpu × U"]
        );
    }
}
