//! Request parameters the way graphite-web (Django) reads them: the query string's pairs,
//! then a form-encoded body's pairs appended (`request.GET.copy().update(request.POST)`);
//! a single-valued lookup takes the last value of a name, a list lookup takes them all in
//! order.

/// The merged parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses the query string and, if the request is a form post, its body.
    pub fn parse(query: Option<&str>, form_body: Option<&[u8]>) -> Params {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            pairs.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        if let Some(body) = form_body {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        Params(pairs)
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present at all.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_values_follow_query_values() {
        let p = Params::parse(Some("target=a&from=-1h"), Some(b"target=b%2Bc&from=-2h"));
        assert_eq!(p.all("target"), ["a", "b+c"]);
        assert_eq!(p.get("from"), Some("-2h"));
        assert!(!p.has("until"));
    }
}
