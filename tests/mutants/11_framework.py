"""Lesson 11 mistakes the tests must catch (see course/mutants.py)."""

MUTANTS = {
    # The list (issue 16).
    "yield clean-up skipped when the handler raises": [
        ("        async with contextlib.AsyncExitStack() as exit_stack:\n"
         "            request.exit_stack = exit_stack\n"
         "            response = await self.middleware_chain()(request)\n"
         "            await response(scope, receive, send)\n",
         "        exit_stack = contextlib.AsyncExitStack()\n"
         "        request.exit_stack = exit_stack\n"
         "        response = await self.middleware_chain()(request)\n"
         "        await response(scope, receive, send)\n"
         "        await exit_stack.aclose()\n")],
    "a dependency called twice per request": [
        ("if depends.use_cache and call in conn.dependency_cache:", "if False:")],
    "a query parameter left a string": [
        ("        return field_.adapter.validate_python(raw, from_attributes=True), []",
         "        return (raw if field_.source == \"query\"\n"
         "                else field_.adapter.validate_python(raw, from_attributes=True)), []")],
    "a 422 loc naming the Python name, not the header": [
        ('loc = ("body",) if field_.source == "body" else (field_.source, field_.key)',
         'loc = ("body",) if field_.source == "body" else (field_.source, field_.name)')],
    "a 422 loc without its source": [
        ('loc = ("body",) if field_.source == "body" else (field_.source, field_.key)',
         'loc = () if field_.source == "body" else (field_.key,)')],
    "a path template matching across /": [('f"(?P<{match[1]}>[^/]+)"', 'f"(?P<{match[1]}>.+)"')],
    "405 answered as 404": [("        if allowed:  # the resource", "        if False:  # the resource")],
    # Others a learner makes.
    "a path template not anchored at the end": [('return re.compile(f"^{pattern}$"), names',
                                                 'return re.compile(f"^{pattern}"), names')],
    "yield clean-up before the response is sent": [
        ("            response = await self.middleware_chain()(request)\n            await response(scope, receive, send)\n",
         "            response = await self.middleware_chain()(request)\n"
         "            await exit_stack.aclose()\n            await response(scope, receive, send)\n")],
    "header underscores not turned into hyphens": [
        ('key = alias or (name.replace("_", "-") if source == "header" else name)', "key = alias or name")],
    "validation stops at the first error": [
        ("        values[field_.name], field_errors = validate(field_, raw, present)\n        errors += field_errors\n",
         "        values[field_.name], field_errors = validate(field_, raw, present)\n        errors += field_errors\n"
         "        if errors:\n            break\n")],
    "dependency_overrides ignored": [
        ("call = conn.app.dependency_overrides.get(depends.dependency, depends.dependency)",
         "call = depends.dependency")],
    "middleware order reversed (first added outermost)": [
        ("        for middleware in self.middlewares:\n", "        for middleware in reversed(self.middlewares):\n")],
    "exception handlers looked up by exact class only": [
        ("for cls in type(error).__mro__\n", "for cls in [type(error)]\n")],
    "a model returned as its repr, not JSON": [
        ("return JSONResponse(to_jsonable_python(value), status_code=status_code)",
         "return JSONResponse(value if isinstance(value, (dict, list)) else repr(value), status_code=status_code)")],
    "only the first body message read": [
        ("                if not message.get(\"more_body\", False):\n                    break\n",
         "                break\n")],
    "a streaming response sent in one piece": [
        ('            await send({"type": "http.response.body", "body": data, "more_body": True})\n',
         '            self.body += data\n'),
        ('        await send({"type": "http.response.body", "body": b"", "more_body": False})\n',
         '        await send({"type": "http.response.body", "body": self.body, "more_body": False})\n')],
    "the mount prefix not added to root_path": [
        ('child_scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}', "child_scope = scope")],
    "a mounted app's response misses the middleware's headers": [
        ("await self.app(child_scope, receive, send_with_our_headers)", "await self.app(child_scope, receive, send)")],
    "websocket disconnect not raised": [
        ("            raise WebSocketDisconnect(message.get(\"code\", 1000))\n", "            return {\"text\": \"\"}\n")],
    "openapi without the dependencies' parameters": [
        ("        found += flat_fields(analyse(depends.dependency), seen)\n", "        pass\n")],
    "openapi parameter defaults left out": [
        ("    if not field_.required:\n        schema[\"default\"]", "    if False:\n        schema[\"default\"]")],
    "openapi keeps null values": [("        return without_nulls(document)", "        return document")],
    "an Optional model taken for a query parameter": [
        ("    if typing.get_origin(annotation) in (typing.Union, types.UnionType):", "    if False:")],
    "a class dependency's parameters read from the class, not __init__": [
        ("typing.get_type_hints(call.__init__ if inspect.isclass(call) else call, include_extras=True)",
         "typing.get_type_hints(call, include_extras=True)")],
    "Depends() without a dependency not taken from the annotation": [
        ("marker if marker.dependency else Depends(annotation, use_cache=marker.use_cache)", "marker")],
    "a WebSocket handler called with invalid parameters": [
        ("                if errors:  # FastAPI closes with 1008", "                if False:  # FastAPI closes with 1008")],
    "lifespan startup failure not reported": [
        ('await send({"type": "lifespan.startup.failed", "message": repr(error)})',
         'await send({"type": "lifespan.startup.complete"})')],
}
