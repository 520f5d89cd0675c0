"""What the tests share: clients and sockets, server processes, the scale topology's services,
browsers and media peers. Fixtures stay in conftest.py files; everything else they and the
tests need is imported from here."""
