// STUB: replaced by the real parser at merge
pub fn parse(
    _text: &str,
    _url: &str,
    _ctx: &super::include::ParseContext,
    _fetch: &mut super::include::Fetcher,
) -> super::Menu {
    super::Menu::default()
}
