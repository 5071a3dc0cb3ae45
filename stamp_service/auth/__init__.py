"""Who is asking: users, password login, API tokens, roles on every route, CSRF on forms."""
