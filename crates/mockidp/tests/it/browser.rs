//! A minimal browser: follows the authorization endpoint's answer without
//! following the redirect into the (absent) application.

use std::collections::HashMap;

use reqwest::{StatusCode, header};

use crate::support::http;

/// What the authorization endpoint answered.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Answer {
    /// The query parameters of the redirect.
    pub fn redirect_params(&self) -> HashMap<String, String> {
        let location =
            self.location.as_deref().unwrap_or_else(|| panic!("no redirect; status {}: {}", self.status, self.body));
        let query = location.split_once('?').map_or("", |(_, query)| query);
        form_urlencoded_pairs(query)
    }
}

pub fn form_urlencoded_pairs(query: &str) -> HashMap<String, String> {
    url_decode_pairs(query)
}

fn url_decode_pairs(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}")).unwrap().query_pairs().into_owned().collect()
}

/// GETs `url` without following redirects.
pub async fn get(url: &str) -> Answer {
    let response = http().get(url).send().await.expect("the provider answers");
    answer(response).await
}

/// POSTs a form without following redirects.
pub async fn post_form(url: &str, form: &[(String, String)]) -> Answer {
    let response = http().post(url).form(form).send().await.expect("the provider answers");
    answer(response).await
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    Answer { status, location, body }
}

/// The hidden inputs of the first form on a page, unescaped.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let form = html.split("</form>").next().unwrap_or_default();
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let name = attribute(input, "name");
            let value = attribute(input, "value");
            (name, value)
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> String {
    let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let end = start + tag[start..].find('"').unwrap();
    tag[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
