//! Where the last frame drew what a click can land on: the rows of each list and the tabs.
//! Only the views know the layout, so they record it while drawing; `mouse` reads it.

use std::cell::RefCell;

use ratatui::layout::{Position, Rect};

use super::detail::Tab;
use super::panes::PaneId;

/// A list whose rows a click selects (one per pane; the detail screen's per tab).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    /// A pane's own list (the pane moves its cursor: `Pane::select`).
    Pane(PaneId),
    /// The detail screen's tabs with rows.
    Hardware,
    Snapshots,
}

/// One list as drawn: the rectangle its rows fill (headers and borders excluded) and the
/// index of the row at its top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Drawn {
    list: List,
    body: Rect,
    first: usize,
}

#[derive(Debug, Default)]
struct Frame {
    lists: Vec<Drawn>,
    tabs: Vec<(Rect, Tab)>,
}

/// Filled during `ui::render` (which only has `&App`, hence the cell), emptied at the start
/// of each frame so nothing from an earlier screen can be hit.
#[derive(Debug, Default)]
pub struct HitMap(RefCell<Frame>);

impl HitMap {
    pub fn clear(&self) {
        let mut f = self.0.borrow_mut();
        f.lists.clear();
        f.tabs.clear();
    }

    /// `list` drew its row `first` at the top of `body`, the next ones below (a second call
    /// for the same list corrects the first: a view that draws a window of its rows).
    pub fn list(&self, list: List, body: Rect, first: usize) {
        let d = Drawn { list, body, first };
        let mut f = self.0.borrow_mut();
        match f.lists.iter_mut().find(|x| x.list == list) {
            Some(x) => *x = d,
            None => f.lists.push(d),
        }
    }

    pub fn tab(&self, area: Rect, tab: Tab) {
        self.0.borrow_mut().tabs.push((area, tab));
    }

    /// The list and row index under the cell (`column`, `row`), if a row was drawn there.
    pub fn row_at(&self, column: u16, row: u16) -> Option<(List, usize)> {
        let p = Position::new(column, row);
        let f = self.0.borrow();
        let d = f.lists.iter().find(|d| d.body.contains(p))?;
        Some((d.list, d.first + usize::from(row - d.body.y)))
    }

    pub fn tab_at(&self, column: u16, row: u16) -> Option<Tab> {
        let p = Position::new(column, row);
        let f = self.0.borrow();
        f.tabs.iter().find(|(r, _)| r.contains(p)).map(|(_, t)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_map_from_the_top_of_the_body_and_clear_forgets_them() {
        let h = HitMap::default();
        h.list(List::Pane(PaneId::Pools), Rect::new(1, 2, 10, 5), 40);
        h.tab(Rect::new(0, 0, 4, 1), Tab::Xml);
        assert_eq!(h.row_at(1, 2), Some((List::Pane(PaneId::Pools), 40)));
        assert_eq!(h.row_at(10, 6), Some((List::Pane(PaneId::Pools), 44)));
        assert_eq!(h.row_at(11, 6), None, "right of the body");
        assert_eq!(h.row_at(1, 7), None, "below the body");
        assert_eq!(h.row_at(1, 1), None, "the header");
        assert_eq!(h.tab_at(3, 0), Some(Tab::Xml));
        h.clear();
        assert_eq!(h.row_at(1, 2), None);
        assert_eq!(h.tab_at(3, 0), None);
    }
}
