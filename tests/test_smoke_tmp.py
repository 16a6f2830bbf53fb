from conftest import text


def test_pages_render(client, login, people):
    for role in ["admin", "supervisor", "assistant", "frontdesk", "unit"]:
        login(role)
        r = client.get("/")
        assert r.status_code == 200, (role, r.get_data(as_text=True)[:2000])
    login("admin")
    for url in ["/admin/", "/admin/estate", "/admin/buildings", "/admin/buildings/new", "/admin/places", "/admin/places/new", "/admin/zones", "/admin/zones/new", "/admin/units", "/admin/units/new", "/admin/users", "/admin/users/new", "/me", "/me/password"]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True)[:3000])
