//! Did-you-mean: the one candidate a mistyped word most likely meant, or none when unsure.

/// The candidate `given` was most likely meant to be, if any: the unique closest one within a
/// few typos (case-insensitive optimal-string-alignment distance, so a swapped pair of letters
/// counts as one typo), else the only candidate `given` abbreviates (at least 3 characters).
/// Ties return `None`: a wrong hint is worse than none.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given: Vec<char> = given.trim().to_lowercase().chars().collect();
    if given.is_empty() {
        return None;
    }
    let threshold = max_typos(given.len());
    let mut best: Option<(usize, &'a str)> = None;
    let mut best_tied = false;
    let mut prefix_of: Option<&'a str> = None;
    let mut prefix_tied = false;
    for candidate in candidates {
        let lowered: Vec<char> = candidate.to_lowercase().chars().collect();
        let distance = edit_distance(&given, &lowered);
        if distance <= threshold {
            match best {
                Some((d, _)) if distance > d => {}
                Some((d, c)) if distance == d => {
                    // The same candidate listed twice is not an ambiguity.
                    best_tied |= c.to_lowercase() != candidate.to_lowercase();
                }
                _ => {
                    best = Some((distance, candidate));
                    best_tied = false;
                }
            }
        }
        if given.len() >= 3 && lowered.starts_with(&given) {
            match prefix_of {
                Some(p) => prefix_tied |= p.to_lowercase() != candidate.to_lowercase(),
                None => prefix_of = Some(candidate),
            }
        }
    }
    match best {
        Some((_, candidate)) if !best_tied => Some(candidate),
        Some(_) => None,
        None if !prefix_tied => prefix_of,
        None => None,
    }
}

/// Typos tolerated for a word of `len` characters: none for 1-2 (anything would match), then one
/// more per three characters, at most 3.
fn max_typos(len: usize) -> usize {
    match len {
        0..=2 => 0,
        3..=5 => 1,
        6..=8 => 2,
        _ => 3,
    }
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    // Three rolling rows: the one two back is needed for transpositions.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::test_util::*;
    use crate::domain::command::ParseError;

    #[test]
    fn did_you_mean_cases() {
        let words = ["show", "set-daily", "set-total", "pending"];
        let cases = [
            ("SHOW", Some("show")),
            ("sho", Some("show")),
            ("set-dialy", Some("set-daily")),
            ("set-dail", Some("set-daily")),
            ("pen", Some("pending")),
            // Equally close to both set-* words: no guess.
            ("set-", None),
            ("set-xxxxx", None),
            ("", None),
            ("s", None),
            ("sh", None),
            // Two typos in a four-letter word is too far to guess.
            ("sxxw", None),
            ("zzzz", None),
            ("completely-different", None),
        ];
        for (given, expected) in cases {
            assert_eq!(did_you_mean(given, words), expected, "{given:?}");
        }
    }

    #[test]
    fn did_you_mean_ties_and_duplicates() {
        assert_eq!(did_you_mean("1235", ["1234", "1236"]), None);
        assert_eq!(did_you_mean("1235", ["1234", "1234"]), Some("1234"));
        // The closer of two candidates wins.
        assert_eq!(
            did_you_mean("1234567890", ["1234567899", "1234500000"]),
            Some("1234567899")
        );
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        let d = |a: &str, b: &str| {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            edit_distance(&a, &b)
        };
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("dialy", "daily"), 1);
        assert_eq!(d("ca", "abc"), 3);
        assert_eq!(d("预算", "预算"), 0);
    }

    #[test]
    fn unknown_subcommand_suggestions() {
        let cases = [
            ("set-dialy", Some("set-daily")),
            ("setdaily", Some("set-daily")),
            ("set_daily", Some("set-daily")),
            ("settotal", Some("set-total")),
            ("set_total", Some("set-total")),
            ("SET-TOTL", Some("set-total")),
            ("pendng", Some("pending")),
            ("pneding", Some("pending")),
            ("hist", Some("history")),
            ("histroy", Some("history")),
            ("cancle", Some("cancel")),
            ("shwo", Some("show")),
            ("hepl", Some("help")),
            ("set", None),
            ("delete", None),
            ("approve", None),
            ("xyz", None),
        ];
        for (given, suggestion) in cases {
            assert_eq!(
                err(&format!("/budget {given} 123")),
                ParseError::UnknownSubcommand {
                    given: s(given),
                    suggestion
                },
                "{given}"
            );
        }
    }
}
