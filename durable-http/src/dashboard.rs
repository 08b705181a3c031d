//! The dashboard: a single page of plain HTML, CSS and JavaScript, embedded in the
//! binary and served by the API's own router at `{prefix}/dashboard/`.
//!
//! No build step: the files in `durable-http/dashboard/` are what the browser gets.
//! They use relative URLs only (the assets beside the page, the API one level up), so
//! the dashboard works under whatever prefix the router is nested at, and behind a
//! proxy that adds its own.

use std::sync::Arc;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use durable_core::Store;

use crate::Api;

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const DASHBOARD_JS: &str = include_str!("../dashboard/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("../dashboard/dashboard.css");

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// What the page may load and call: its own scripts and styles and the API on the same
/// origin, nothing inline, and it is not framed (its buttons terminate and purge).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes, to merge into the API's router before its state is given.
pub(crate) fn routes<S: Store>() -> Router<Arc<Api<S>>> {
    Router::new()
        .route("/dashboard", get(redirect))
        .route("/dashboard/", get(index))
        .route("/dashboard/dashboard.js", get(script))
        .route("/dashboard/dashboard.css", get(style))
}

/// `{prefix}/dashboard` to `{prefix}/dashboard/`, so the page's relative URLs resolve
/// inside the dashboard. The `Location` is relative, so it holds under any prefix the
/// server cannot see (a proxy's); the browser keeps the `#/…` fragment.
async fn redirect() -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [
            (LOCATION, HeaderValue::from_static("dashboard/")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
    )
        .into_response()
}

async fn index() -> Response {
    let mut response = asset(INDEX_HTML, HTML);
    response.headers_mut().insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

async fn script() -> Response {
    asset(DASHBOARD_JS, JAVASCRIPT)
}

async fn style() -> Response {
    asset(DASHBOARD_CSS, CSS)
}

/// An embedded file. `no-cache` (revalidate, not "do not store"): after an upgrade the
/// browser gets the page and script of the new binary, never a mix of old and new.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(response: &Response, name: HeaderName) -> &str {
        response.headers()[name].to_str().unwrap()
    }

    #[test]
    fn assets_are_served_with_their_type_and_revalidated() {
        for (body, content_type) in [
            (INDEX_HTML, HTML),
            (DASHBOARD_JS, JAVASCRIPT),
            (DASHBOARD_CSS, CSS),
        ] {
            let response = asset(body, content_type);
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(header(&response, CONTENT_TYPE), content_type);
            assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
        }
    }

    #[tokio::test]
    async fn the_bare_path_redirects_relatively_into_the_dashboard() {
        let response = redirect().await;
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(header(&response, LOCATION), "dashboard/");
        let page = index().await;
        assert_eq!(header(&page, CONTENT_TYPE), HTML);
        assert!(
            header(&page, HeaderName::from_static("content-security-policy"))
                .contains("script-src 'self'")
        );
    }

    /// Under any prefix: nothing in the page names a path from the root.
    #[test]
    fn the_page_loads_its_assets_by_relative_urls() {
        assert!(INDEX_HTML.contains(r#"src="dashboard.js""#));
        assert!(INDEX_HTML.contains(r#"href="dashboard.css""#));
        for absolute in [r#"src="/"#, r#"href="/"#, "http://", "https://"] {
            assert!(!INDEX_HTML.contains(absolute), "index.html has {absolute}");
        }
        assert!(DASHBOARD_JS.contains("new URL('../', location.href.split('#')[0])"));
    }

    /// What a browser test finds the page by.
    #[test]
    fn the_page_has_the_ids_tests_use() {
        let ids = "instances instance-id status waiting-expression locals awaits output \
                   custom-status not-waiting event-name event-body raise-event reason \
                   terminate suspend resume retry purge error-banner error-text next-page \
                   first-page refresh auto-refresh filter-name filter-from filter-to \
                   filter-top";
        for id in ids.split_whitespace() {
            assert!(INDEX_HTML.contains(&format!(r#"id="{id}""#)), "no #{id}");
        }
    }

    /// The page writes data as text only: no `innerHTML`, `outerHTML` or
    /// `insertAdjacentHTML` with what the API returns.
    #[test]
    fn the_script_never_parses_data_as_html() {
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ] {
            assert!(!DASHBOARD_JS.contains(sink), "dashboard.js uses {sink}");
        }
    }
}
