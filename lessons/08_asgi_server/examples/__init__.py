"""Example applications for the lesson 08 server: plain ASGI, Starlette and FastAPI.

    python solutions/08_asgi_server/server.py examples.hello:app --port 8000
    python solutions/08_asgi_server/server.py examples.starlette_app:app --port 8000
    python solutions/08_asgi_server/server.py examples.fastapi_app:app --port 8000
"""
