//! The area tree (区域与网格) and the page of one area.

use askama::Template;
use axum::{
    extract::{Path, State},
    response::Html,
};

use super::{PageContext, render};
use crate::{
    accounts::{CurrentUser, Permission},
    areas::Area,
    http::{AppError, AppState},
};

/// One area in the tree.
pub struct TreeNode {
    pub code: String,
    pub name: String,
    pub level_label: String,
    /// Number of areas below this one.
    pub descendants: usize,
    /// Depth from the root, 0 for the widest area; upper levels start expanded.
    pub depth: usize,
}

/// The tree flattened in document order, because templates cannot recurse: a
/// `Branch` opens a nested list that the matching `End` closes.
pub enum TreeEvent {
    Branch(TreeNode),
    Leaf(TreeNode),
    End,
}

#[derive(Template)]
#[template(path = "console/area_tree.html")]
struct AreaTreePage {
    ctx: PageContext,
    events: Vec<TreeEvent>,
}

#[derive(Template)]
#[template(path = "console/area_detail.html")]
struct AreaDetailPage {
    ctx: PageContext,
    area: Area,
    level_label: String,
    /// Name and code of each ancestor, widest first.
    ancestors: Vec<(String, String)>,
    /// Name, code and level label of each child.
    children: Vec<(String, String, String)>,
    polygon_count: usize,
    vertex_count: usize,
}

/// Appends the subtree under `parent_id` to `events`; returns how many areas it holds.
fn flatten_tree(
    areas: &[Area],
    parent_id: Option<i64>,
    depth: usize,
    ctx: &PageContext,
    events: &mut Vec<TreeEvent>,
) -> usize {
    let mut total = 0;
    for area in areas.iter().filter(|area| area.parent_id == parent_id) {
        let position = events.len();
        events.push(TreeEvent::End);
        let descendants = flatten_tree(areas, Some(area.area_id), depth + 1, ctx, events);
        let node = TreeNode {
            code: area.code.clone(),
            name: area.name.clone(),
            level_label: ctx.t(&area.level.message_id()),
            descendants,
            depth,
        };
        if descendants == 0 {
            events[position] = TreeEvent::Leaf(node);
        } else {
            events[position] = TreeEvent::Branch(node);
            events.push(TreeEvent::End);
        }
        total += 1 + descendants;
    }
    total
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
pub async fn get_area_tree(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
) -> Result<Html<String>, AppError> {
    user.require(Permission::ViewAreas)?;
    let index = state.locator.snapshot();
    let mut events = Vec::new();
    flatten_tree(index.areas(), None, 0, &ctx, &mut events);
    render(&AreaTreePage { ctx: ctx.at("areas"), events })
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, area.code = %code))]
pub async fn get_area_detail(
    State(state): State<AppState>,
    ctx: PageContext,
    user: CurrentUser,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    user.require(Permission::ViewAreas)?;
    let index = state.locator.snapshot();
    let areas = index.areas();
    let area = areas
        .iter()
        .find(|a| a.code == code)
        .cloned()
        .ok_or_else(|| AppError::not_found(&ctx.t("area-noun"), &code))?;
    let mut ancestors = Vec::new();
    let mut parent = area.parent_id;
    while let Some(parent_area) = parent.and_then(|id| areas.iter().find(|a| a.area_id == id)) {
        ancestors.push((parent_area.name.clone(), parent_area.code.clone()));
        parent = parent_area.parent_id;
    }
    ancestors.reverse();
    let children = areas
        .iter()
        .filter(|a| a.parent_id == Some(area.area_id))
        .map(|a| (a.name.clone(), a.code.clone(), ctx.t(&a.level.message_id())))
        .collect();
    let (polygon_count, vertex_count) = area.geometry.as_ref().map_or((0, 0), |multi| {
        let vertices = multi
            .0
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum();
        (multi.0.len(), vertices)
    });
    let level_label = ctx.t(&area.level.message_id());
    let page = AreaDetailPage {
        ctx: ctx.at("areas"),
        area,
        level_label,
        ancestors,
        children,
        polygon_count,
        vertex_count,
    };
    render(&page)
}
