"""Requests built from arguments, asserted exactly: every style, bodies, servers, Swagger 2.0."""

from __future__ import annotations

import base64

import pytest
from openapi_support import by_key, by_name, compile_inline, compile_spec

from mcprt.errors import ToolCallError
from mcprt.outbound.request import BuiltRequest

ARGS = {"primitive": "blue", "array": ["blue", "black", "brown"], "object": {"R": 100, "G": 200, "B": 150}}
HTTPBIN = "https://httpbin.org"


@pytest.fixture(scope="module", params=["readme/3.0/parameters-style.json", "readme/3.1/parameters-style.json"])
def styles(request: pytest.FixtureRequest) -> dict:
    return by_name(compile_spec(request.param))


PATHS = {
    "paths_standard": "/anything/path/blue/blue,black,brown/R,100,G,200,B,150",
    "paths_simple_nonExploded": "/anything/path/simple/blue/blue,black,brown/R,100,G,200,B,150",
    "paths_simple_exploded": "/anything/path/simple/blue/blue,black,brown/R=100,G=200,B=150",
    "paths_label_nonExploded": "/anything/path/label/.blue/.blue,black,brown/.R,100,G,200,B,150",
    "paths_label_exploded": "/anything/path/label/.blue/.blue.black.brown/.R=100.G=200.B=150",
    "paths_matrix_nonExploded":
        "/anything/path/matrix/;primitive=blue/;array=blue,black,brown/;object=R,100,G,200,B,150",
    "paths_matrix_exploded":
        "/anything/path/matrix/;primitive=blue/;array=blue;array=black;array=brown/;R=100;G=200;B=150",
    "query_standard": "/anything/query?primitive=blue&array=blue&array=black&array=brown&R=100&G=200&B=150",
    "query_form_exploded": "/anything/query/form?primitive=blue&array=blue&array=black&array=brown&R=100&G=200&B=150",
    "query_form_nonExploded": "/anything/query/form?primitive=blue&array=blue,black,brown&object=R,100,G,200,B,150",
    "query_spaceDelimited_nonExploded":
        "/anything/query/spaceDelimited?array=blue%20black%20brown&object=R%20100%20G%20200%20B%20150",
    "query_pipeDelimited_nonExploded": "/anything/query/pipeDelimited?array=blue|black|brown&object=R|100|G|200|B|150",
    "query_deepObject_nonExploded": "/anything/query/deepObject?object[R]=100&object[G]=200&object[B]=150",
}


@pytest.mark.parametrize("name", sorted(PATHS))
def test_path_and_query_styles(styles: dict, name: str) -> None:
    request = styles[name].plan.build(ARGS)
    assert request.url == HTTPBIN + PATHS[name]
    assert request.headers == [] and request.cookies == [] and request.body is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("headers_standard", [("primitive", "blue"), ("array", "blue,black,brown"), ("object", "R,100,G,200,B,150")]),
        ("headers_simple_nonExploded",
         [("primitive", "blue"), ("array", "blue,black,brown"), ("object", "R,100,G,200,B,150")]),
        ("headers_simple_exploded",
         [("primitive", "blue"), ("array", "blue,black,brown"), ("object", "R=100,G=200,B=150")]),
    ],
)
def test_header_styles(styles: dict, name: str, expected: list) -> None:
    request = styles[name].plan.build(ARGS)
    assert request.headers == expected
    assert request.url.startswith(HTTPBIN + "/anything/headers")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cookies_form_nonExploded",
         [("primitive", "blue"), ("array", "blue,black,brown"), ("object", "R,100,G,200,B,150")]),
        ("cookies_form_exploded", [("primitive", "blue"), ("array", "blue"), ("array", "black"), ("array", "brown"),
                                   ("R", "100"), ("G", "200"), ("B", "150")]),
    ],
)
def test_cookie_styles(styles: dict, name: str, expected: list) -> None:
    request = styles[name].plan.build(ARGS)
    assert request.cookies == expected
    assert request.url == HTTPBIN + "/cookies"  # the document's `#fragment` in the path is not sent


def test_multipart_parts_exactly(styles: dict) -> None:
    request = styles["formData_standard"].plan.build(ARGS)
    boundary = request.content_type.split("boundary=")[1]
    assert request.content_type == f"multipart/form-data; boundary={boundary}"
    b = f"--{boundary}\r\n"
    expected = (
        f'{b}Content-Disposition: form-data; name="primitive"\r\n\r\nblue\r\n'
        f'{b}Content-Disposition: form-data; name="array"\r\n\r\nblue\r\n'
        f'{b}Content-Disposition: form-data; name="array"\r\n\r\nblack\r\n'
        f'{b}Content-Disposition: form-data; name="array"\r\n\r\nbrown\r\n'
        f'{b}Content-Disposition: form-data; name="object"\r\nContent-Type: application/json\r\n\r\n'
        '{"R":100,"G":200,"B":150}\r\n'
        f"--{boundary}--\r\n"
    )
    assert request.body == expected.encode()
    # Deterministic: the same arguments give the same bytes.
    assert styles["formData_standard"].plan.build(ARGS).body == request.body


def test_openapi_core_petstore_query_cookie_and_deep_object() -> None:
    ops = by_key(compile_spec("openapi-core/petstore.yaml"))
    listing = ops["listPets"]
    assert listing.operation.input_schema["required"] == ["limit"]
    request = listing.plan.build(
        {
            "page": 2,
            "limit": 5,
            "search": "a b&c",
            "ids": [1, 2],
            "tags": ["cats", "dogs"],
            "coordinates": {"lat": 1.5, "lon": -2},
            "color": {"R": 1, "G": 2},
        }
    )
    assert request.method == "GET"
    assert request.url == (
        "http://petstore.swagger.io/v1/pets?page=2&limit=5&search=a%20b%26c&ids=1&ids=2&tags=cats,dogs"
        "&coordinates=%7B%22lat%22%3A1.5%2C%22lon%22%3A-2%7D&color[R]=1&color[G]=2"
    )
    assert request.idempotent is True
    with pytest.raises(ToolCallError, match="Missing required argument `limit`"):
        listing.plan.build({"page": 1})
    create = ops["createPets"]
    props = create.operation.input_schema["properties"]
    assert list(props) == ["api-key", "user", "userdata", "body"]  # allOf + oneOf body: not flattened
    built = create.plan.build({"api-key": "k1", "user": 7, "userdata": {"name": "x"}, "body": {"name": "Rex"}})
    assert built.url == "https://development.gigantic-server.com/v1/pets"  # operation-level server
    assert built.headers == [("api-key", "k1"), ("Accept", "application/json")]
    assert built.cookies == [("user", "7"), ("userdata", "{%22name%22:%22x%22}")]
    assert (built.content_type, built.body) == ("application/json", b'{"name":"Rex"}')
    assert built.idempotent is False


def test_swagger2_petstore_requests() -> None:
    ops = by_key(compile_spec("readme/2.0/petstore.json"))
    # collectionFormat multi: repeated (csv, joined, is in test_openapi_refs)
    assert ops["findPetsByStatus"].plan.build({"status": ["available", "sold"]}).url == (
        "http://petstore.swagger.io/v2/pet/findByStatus?status=available&status=sold"
    )
    assert ops["findPetsByTags"].plan.build({"tags": ["a", "b c"]}).url == (
        "http://petstore.swagger.io/v2/pet/findByTags?tags=a&tags=b%20c"
    )
    # formData → application/x-www-form-urlencoded, flattened
    form = ops["updatePetWithForm"].plan.build({"petId": 3, "name": "Max Power", "status": "sold & gone"})
    assert form.url == "http://petstore.swagger.io/v2/pet/3"
    assert form.content_type == "application/x-www-form-urlencoded"
    assert form.body == b"name=Max+Power&status=sold+%26+gone"
    # type: file → multipart with a file part decoded from a data: URL
    png = b"\x89PNG\r\n\x1a\nrest"
    data_url = "data:image/png;name=cat.png;base64," + base64.b64encode(png).decode()
    upload = ops["uploadFile"].plan.build({"petId": 3, "additionalMetadata": "meta", "file": data_url})
    boundary = upload.content_type.split("boundary=")[1]
    assert upload.body == (
        f'--{boundary}\r\nContent-Disposition: form-data; name="additionalMetadata"\r\n\r\nmeta\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cat.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode() + png + f"\r\n--{boundary}--\r\n".encode()
    )
    # in: body with a non-object schema → one `body` argument
    users = ops["createUsersWithArrayInput"].plan.build({"body": [{"username": "u"}]})
    assert users.body == b'[{"username":"u"}]' and users.content_type == "application/json"
    # DELETE: the api_key header parameter is a credential, not an argument
    delete = ops["deletePet"]
    assert list(delete.operation.input_schema["properties"]) == ["petId"]
    assert delete.plan.build({"petId": 9}).idempotent is True


def test_multipart_text_file_and_plain_fields() -> None:
    ops = by_name(compile_spec("readme/3.0/file-uploads.json"))
    op = ops["post_anything_multipart-formdata"]
    request = op.plan.build({"orderId": 1, "userId": 2, "documentFile": "hello"})
    boundary = request.content_type.split("boundary=")[1]
    assert request.body == (
        f'--{boundary}\r\nContent-Disposition: form-data; name="orderId"\r\n\r\n1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\n2\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="documentFile"; filename="documentFile"\r\n'
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--{boundary}--\r\n"
    ).encode()


def test_binary_body_from_data_url_or_text() -> None:
    op = by_name(compile_spec("readme/3.0/file-uploads.json"))["post_anything_image-png"]
    assert list(op.operation.input_schema["properties"]) == ["body"]
    png = bytes(range(10))
    built = op.plan.build({"body": "data:image/png;base64," + base64.b64encode(png).decode()})
    assert (built.body, built.content_type) == (png, "image/png")
    assert op.plan.build({"body": "plain"}).body == b"plain"
    with pytest.raises(ToolCallError, match="base64"):
        op.plan.build({"body": "data:image/png;base64,@@@"})


def test_form_urlencoded_encoding_styles() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com/v1/"}],
        "paths": {
            "/charges": {
                "post": {
                    "operationId": "createCharge",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["amount"],
                                    "properties": {
                                        "amount": {"type": "integer"},
                                        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                                        "expand": {"type": "array", "items": {"type": "string"}},
                                        "tags": {"type": "array", "items": {"type": "string"}},
                                        "extra": {"type": "object"},
                                    },
                                },
                                "encoding": {
                                    "metadata": {"style": "deepObject", "explode": True},
                                    "expand": {"style": "deepObject", "explode": True},
                                    "tags": {"style": "form", "explode": False},
                                    "extra": {"contentType": "application/json"},
                                },
                            }
                        },
                    },
                }
            }
        },
    }
    op = by_key(compile_inline(spec))["createCharge"]
    assert op.operation.input_schema["required"] == ["amount"]
    built = op.plan.build(
        {"amount": 100, "metadata": {"order": "6735"}, "expand": ["customer"], "tags": ["a", "b"], "extra": {"k": 1}}
    )
    assert built.url == "https://api.example.com/v1/charges"
    assert built.body == (
        b"amount=100&metadata[order]=6735&expand[0]=customer&tags=a%2Cb&extra=%7B%22k%22%3A1%7D"
    )


@pytest.mark.parametrize(("encoding", "expected"), [
    # the trial's /form2: OpenAPI 3.x Encoding Object, `form` + `explode` spreads the object's properties
    ({"meta": {"style": "form", "explode": True}}, b"colors=r&colors=g&a=1&b=x%20y"),
    ({"meta": {"explode": True}}, b"colors=r&colors=g&a=1&b=x%20y"),  # `style` defaults to form
    ({"meta": {"style": "form", "explode": False}}, b"colors=r&colors=g&meta=a,1,b,x%20y"),
    ({"meta": {"style": "deepObject", "explode": True}}, b"colors=r&colors=g&meta[a]=1&meta[b]=x+y"),
    ({}, b"colors=r&colors=g&meta[a]=1&meta[b]=x+y"),  # no encoding: brackets, as Stripe-like APIs take them
    ({"meta": {"contentType": "text/plain"}}, b"colors=r&colors=g&meta[a]=1&meta[b]=x+y"),
])
def test_form_object_property_follows_its_encoding_style(encoding: dict, expected: bytes) -> None:
    spec = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com"}],
        "paths": {"/form2": {"post": {"operationId": "postForm2", "responses": {"200": {"description": "ok"}},
                                      "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                                          "schema": {"type": "object", "properties": {
                                              "colors": {"type": "array", "items": {"type": "string"}},
                                              "meta": {"type": "object", "properties": {
                                                  "a": {"type": "string"}, "b": {"type": "string"}}}}},
                                          "encoding": encoding}}}}}},
    }
    op = by_key(compile_inline(spec))["postForm2"]
    assert op.plan.build({"colors": ["r", "g"], "meta": {"a": "1", "b": "x y"}}).body == expected


def test_text_body_and_accept_header() -> None:
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/render": {
                "post": {
                    "operationId": "render",
                    "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}},
                    "responses": {"200": {"description": "ok", "content": {"text/html": {}}}},
                }
            }
        },
    }
    op = by_key(compile_inline(spec))["render"]
    built = op.plan.build({"body": "# Hi"})
    assert built == BuiltRequest(
        method="POST",
        url="https://api.example.com/render",
        headers=[("Accept", "text/html")],
        cookies=[],
        body=b"# Hi",
        content_type="text/plain",
        idempotent=False,
    )
    assert op.plan.build({}).body is None  # optional body left out


def test_github_requests() -> None:
    ops = by_key(compile_spec("github-subset.json"))
    listing = ops["issues/list-for-repo"].plan.build(
        {"owner": "octocat", "repo": "hello world", "labels": "bug,ui", "per_page": 20, "state": "open"}
    )
    assert listing == BuiltRequest(
        method="GET",
        url="https://api.github.com/repos/octocat/hello%20world/issues?state=open&labels=bug%2Cui&per_page=20",
        headers=[],  # the trimmed subset keeps no response content, so no Accept
        idempotent=True,
    )
    create = ops["issues/create"].plan.build({"owner": "o", "repo": "r", "title": "Bug", "labels": ["a"]})
    assert create.url == "https://api.github.com/repos/o/r/issues"
    assert create.body == b'{"title":"Bug","labels":["a"]}'
    assert create.content_type == "application/json"
    # a file path argument stays one path segment … where the API means it to be several, too
    content = ops["repos/get-content"].plan.build({"owner": "o", "repo": "r", "path": "docs/README.md"},
                                                  path_slashes=frozenset({"path"}))
    assert content.url == "https://api.github.com/repos/o/r/contents/docs%2FREADME.md"


def test_name_collisions_between_parameters_and_body() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/items/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "put": {
                    "operationId": "putItem",
                    "parameters": [
                        {"name": "id", "in": "query", "schema": {"type": "integer"}},
                        {"name": "id", "in": "header", "schema": {"type": "string"}},
                        {"name": "filter[name]", "in": "query", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {
                            "type": "object", "required": ["id"],
                            "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                        }}},
                    },
                },
                "patch": {
                    "operationId": "patchItem",
                    "requestBody": {"content": {"application/json": {"schema": {
                        "type": "object", "required": ["name"],
                        "properties": {"name": {"type": "string"}, "ro": {"type": "string", "readOnly": True}},
                    }}}},
                },
            }
        },
    }
    ops = by_key(compile_inline(spec))
    put = ops["putItem"]
    schema = put.operation.input_schema
    assert list(schema["properties"]) == ["id", "query_id", "filter_name", "header_id", "body"]
    assert schema["required"] == ["id", "body"]
    assert schema["properties"]["body"]["required"] == ["id"]
    built = put.plan.build(
        {"id": "a:b", "query_id": 5, "filter_name": "x y", "header_id": "h", "body": {"id": "b1", "name": "n"}}
    )
    assert built.url == "https://api.example.com/items/a%3Ab?id=5&filter[name]=x%20y".replace(
        "filter[name]", "filter%5Bname%5D"
    )
    assert built.headers == [("id", "h")]
    assert built.body == b'{"id":"b1","name":"n"}'
    # No collision: flattened; optional body → its required properties are optional arguments.
    patch = ops["patchItem"].operation.input_schema
    assert patch == {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
        "required": ["id"],
    }
    assert ops["patchItem"].plan.build({"id": "1"}).body is None
    assert ops["patchItem"].plan.build({"id": "1", "name": "n"}).body == b'{"name":"n"}'


def test_non_ascii_names_keep_their_served_names_are_described_and_sent_under_their_wire_names() -> None:
    """Found by a new-user trial: `größe` became the argument `gr_e`, `日本` `arg` and nothing said what they were:
    the description now names the wire name. Found by review: spelling them in ASCII (`grosse`) renamed served
    arguments and tools and let `größe` take the name of a parameter `grosse` (then `query_grosse`): served names
    are as they were, and only the description is added."""
    spec = {
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/größe": {
                "get": {"parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                                       for n in ("gr_e", "grosse", "größe", "日本", "œuvre")]},
                "post": {"requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ñame": {"type": "string", "description": "A name."}}}}}}},
            },
            "/élément": {"get": {"operationId": "récupérerÉlément"}},
        },
    }
    ops = by_key(compile_inline(spec))
    get, post = ops["GET /größe"], ops["POST /größe"]
    assert (get.operation.name, post.operation.name) == ("get_gr_e", "post_gr_e")
    assert ops["récupérerÉlément"].operation.name == "r_cup_rer_l_ment"
    props = get.operation.input_schema["properties"]
    # `日本` keeps nothing: `arg` and a hash of the name, so a second such name is another argument
    assert list(props) == ["gr_e", "grosse", "query_gr_e", "arg_44da6bb", "uvre"]
    assert "description" not in props["gr_e"] and "description" not in props["grosse"]
    assert props["query_gr_e"]["description"] == "The 'größe' query parameter."
    assert props["arg_44da6bb"]["description"] == "The '日本' query parameter."
    body = post.operation.input_schema["properties"]
    assert list(body) == ["ame"] and body["ame"]["description"] == "The 'ñame' field of the request body. A name."
    built = get.plan.build({"gr_e": "1", "grosse": "2", "query_gr_e": "3", "arg_44da6bb": "4"})
    assert built.url == "https://api.example.com/gr%C3%B6%C3%9Fe?gr_e=1&grosse=2&gr%C3%B6%C3%9Fe=3&%E6%97%A5%E6%9C%AC=4"
    assert post.plan.build({"ame": "x"}).body == '{"ñame":"x"}'.encode()
