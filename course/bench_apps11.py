"""The apps `make bench --part framework` serves: lesson 11's framework against FastAPI.

A JSON endpoint with a validated body and one dependency, written once and built on
FastAPI or on a lesson-11 `framework.py` (both take the same code). The dependency is
async: a plain function would cost both frameworks a thread hop, which measures the
thread pool, not the framework. No `from __future__ import annotations` here: both
frameworks read the handler's type hints, and a local class must be an object.

    course.bench_apps11:order_fastapi     FastAPI
    course.bench_apps11:order_reference   solutions/11_framework/framework.py
    course.bench_apps11:order_yours       lessons/11_framework/framework.py
"""

import importlib.util
import sys
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parent.parent
ORDER_BODY = b'{"item": "pen", "quantity": 2, "note": "gift"}'


class Order(BaseModel):
    item: str
    quantity: int = Field(gt=0)
    note: Optional[str] = None


async def pricing() -> dict:
    return {"currency": "EUR", "unit_price": 1.5}


def order_app(App, Depends):
    app = App()

    @app.post("/")
    async def order(order: Order, prices: dict = Depends(pricing)):
        return {"item": order.item, "total": order.quantity * prices["unit_price"], "currency": prices["currency"]}

    return app


def load_framework(folder: str):
    """Lesson 11's framework.py from solutions/ or lessons/ (a folder name starting with
    digits cannot be imported by name)."""
    path = ROOT / folder / "11_framework" / "framework.py"
    spec = importlib.util.spec_from_file_location(f"bench_framework_{folder}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def __getattr__(name: str):
    """Each app is built on first use (PEP 562), so loading one never loads the others."""
    if name == "order_fastapi":
        from fastapi import Depends, FastAPI
        return order_app(FastAPI, Depends)
    if name in ("order_reference", "order_yours"):
        framework = load_framework("solutions" if name == "order_reference" else "lessons")
        return order_app(framework.App, framework.Depends)
    raise AttributeError(name)
