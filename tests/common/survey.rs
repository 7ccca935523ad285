//! A scripted browser for the web survey: keeps its device cookie, answers every screen the way a careful citizen
//! would. Used by the web survey's tests and the ballot-stuffing tests.
#![allow(dead_code, clippy::unwrap_used)]

use regex::Regex;

use super::common::TestApp;

/// A browser of one device: keeps its cookie, follows nothing by itself.
pub struct Device<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl<'a> Device<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookie: None }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let r = req.send().await.unwrap();
        if let Some(set) = r.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            html: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.app.client.get(self.app.url(path));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let req = self.app.client.post(self.app.url(path)).form(form);
        self.send(req).await
    }
}

pub fn csrf(html: &str) -> String {
    Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(html)
        .unwrap()[1]
        .to_owned()
}

pub fn screen(html: &str) -> String {
    Regex::new(r#"name="screen" value="(\d+)""#)
        .unwrap()
        .captures(html)
        .unwrap()[1]
        .to_owned()
}

/// The answers a careful citizen gives on this page: "yes" where asked (to walk into skip logic), the first
/// choice elsewhere, a small number, a short text.
pub fn answer_page(html: &str) -> Vec<(String, String)> {
    let mut form = vec![
        ("csrf".into(), csrf(html)),
        ("screen".into(), screen(html)),
        ("action".into(), "next".into()),
    ];
    let radios = Regex::new(r#"type="radio" name="a_([a-z0-9_]+)" value="([^"]*)""#).unwrap();
    let mut seen = std::collections::HashSet::new();
    for c in radios.captures_iter(html) {
        let (code, value) = (c[1].to_owned(), c[2].to_owned());
        let has_yes = html.contains(&format!(r#"name="a_{code}" value="1""#));
        if (has_yes && value == "1") || (!has_yes && seen.insert(code.clone())) {
            seen.insert(code.clone());
            form.retain(|(k, _)| k != &format!("a_{code}"));
            form.push((format!("a_{code}"), value));
        }
    }
    for c in Regex::new(r#"type="number" inputmode="numeric" name="a_([a-z0-9_]+)" min="(-?\d+)""#)
        .unwrap()
        .captures_iter(html)
    {
        form.push((format!("a_{}", &c[1]), c[2].to_owned()));
    }
    for c in Regex::new(r#"<textarea name="a_([a-z0-9_]+)""#)
        .unwrap()
        .captures_iter(html)
    {
        form.push((format!("a_{}", &c[1]), "Sửa đường liên thôn".to_owned()));
    }
    form
}
