//! The search box and filters of the case queue: a plain GET form, so that it works
//! without JavaScript and a filtered queue can be bookmarked.

use serde::{Deserialize, Serialize};

use crate::{
    accounts::CurrentUser, areas::Level, cases::case::query::ListQuery, locate::AreaIndex,
};

/// Cases per queue page. One more is requested to tell whether a next page exists.
pub const QUEUE_PAGE_ROWS: i64 = 100;

/// The form fields of the queue. Empty text means no filter, as a form sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct QueueQuery {
    pub q: String,
    pub stage: String,
    pub category: String,
    pub area: String,
    /// `true` when the overdue box is ticked; a form leaves it out otherwise.
    pub overdue: String,
    /// Cases skipped before this page; the API checks its range.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub offset: String,
}

impl QueueQuery {
    /// Returns the API filters of this form, asking for one row past the page.
    pub fn list_query(&self) -> ListQuery {
        let text = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
        ListQuery {
            q: text(&self.q),
            stage: text(&self.stage),
            category: text(&self.category),
            area: text(&self.area),
            overdue: text(&self.overdue),
            limit: Some((QUEUE_PAGE_ROWS + 1).to_string()),
            offset: text(&self.offset),
        }
    }

    /// Tells whether the queue is ordered by relevance rather than by urgency.
    pub fn is_search(&self) -> bool {
        !self.q.trim().is_empty()
    }

    /// Returns the first case shown on this page; a bad offset fails in the API first.
    pub fn offset_rows(&self) -> i64 {
        self.offset.trim().parse().unwrap_or(0)
    }

    /// Builds the queue URL of the same filters at `offset`.
    pub fn page_url(&self, offset: i64) -> String {
        let page = QueueQuery {
            offset: if offset > 0 { offset.to_string() } else { String::new() },
            ..self.clone()
        };
        // Serializing a struct of strings cannot fail.
        let query = serde_urlencoded::to_string(&page).unwrap_or_default();
        format!("/cases?{query}")
    }
}

/// One option of the area filter: a community, or a grid indented below it.
pub struct AreaOption {
    pub area_id: i64,
    pub label: String,
    pub selected: bool,
}

/// Lists the communities and grids in `user`'s scope, each grid after its community.
/// Area codes extend their parent's code, so ordering by code groups them.
pub fn area_options(user: &CurrentUser, index: &AreaIndex, selected: &str) -> Vec<AreaOption> {
    let mut areas: Vec<_> = index
        .areas()
        .iter()
        .filter(|area| matches!(area.level, Level::Community | Level::Grid))
        .filter(|area| user.can_access_area(index, area.area_id))
        .collect();
    areas.sort_by(|a, b| a.code.cmp(&b.code));
    areas
        .into_iter()
        .map(|area| {
            let indent = if area.level == Level::Grid { "\u{2003}" } else { "" };
            AreaOption {
                area_id: area.area_id,
                label: format!("{indent}{} ({})", area.name, area.code),
                selected: selected.trim() == area.area_id.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_url_keeps_filters_and_encodes_text() {
        let query = QueueQuery {
            q: "井盖 noise".to_owned(),
            stage: "filed".to_owned(),
            overdue: "true".to_owned(),
            ..QueueQuery::default()
        };
        assert_eq!(
            query.page_url(100),
            "/cases?q=%E4%BA%95%E7%9B%96+noise&stage=filed&category=&area=&overdue=true&offset=100"
        );
        assert_eq!(
            query.page_url(0),
            "/cases?q=%E4%BA%95%E7%9B%96+noise&stage=filed&category=&area=&overdue=true"
        );
    }

    #[test]
    fn empty_fields_are_no_filters() {
        let query = QueueQuery { q: "  ".to_owned(), ..QueueQuery::default() };
        let list = query.list_query();
        assert_eq!(list.q, None);
        assert_eq!(list.stage, None);
        assert_eq!(list.limit.as_deref(), Some("101"));
        assert!(!query.is_search());
    }
}
