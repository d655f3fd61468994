import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineRoute, RouteApp } from "../../shared/http/route-app";

/**
 * `RouteApp.openapi` mounts a zod-described route with the request handling of
 * `OpenAPIHono.openapi` (@hono/zod-openapi 1.x), which the functions no longer load. These cases
 * pin that handling: validators per target, the 415 media-type gate, optional bodies, path
 * parameters, and what is recorded for the OpenAPI document.
 */

const Body = z.object({ name: z.string().min(1) }).strict();

/** An app whose invalid input answers 422 with the zod issue paths, and 415/400 from Hono's own errors. */
function appWith(register: (app: RouteApp) => void): RouteApp {
  const app = new RouteApp((error) => {
    throw new HTTPException(422, { message: error.issues.map((i) => i.path.join(".")).join(",") });
  });
  register(app);
  app.onError((err) => {
    const status = err instanceof HTTPException ? err.status : 500;
    return new Response(err.message, { status });
  });
  return app;
}

const post = (path: string, body: BodyInit | null, contentType?: string) =>
  new Request(`https://api.example.test${path}`, {
    method: "POST",
    body,
    headers: contentType ? { "content-type": contentType } : {},
  });

function bodyRoute(required: boolean) {
  return defineRoute({
    method: "post",
    path: "/things",
    request: {
      body: {
        required,
        content: {
          "application/json": { schema: Body },
          "application/x-www-form-urlencoded": { schema: Body },
        },
      },
    },
    responses: { 200: { description: "ok" } },
  });
}

describe("RouteApp.openapi", () => {
  it("validates a JSON or form body (each by its own Content-Type) and hands the handler the value", async () => {
    // Both media types declared, body not `required` (as login and token declare theirs).
    const app = appWith((a) =>
      a.openapi(bodyRoute(false), (c) => c.json({ json: c.req.valid("json"), form: c.req.valid("form") })),
    );
    const json = await app.fetch(post("/things", '{"name":"Ada"}', "application/json"));
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ json: { name: "Ada" }, form: {} });
    const form = await app.fetch(post("/things", "name=Grace", "application/x-www-form-urlencoded"));
    expect(form.status).toBe(200);
    expect(await form.json()).toEqual({ json: {}, form: { name: "Grace" } });
  });

  it("validates a required body whatever the request says (as OpenAPIHono does)", async () => {
    const route = defineRoute({
      method: "post",
      path: "/strict",
      request: { body: { required: true, content: { "application/json": { schema: Body } } } },
      responses: { 200: { description: "ok" } },
    });
    const app = appWith((a) => a.openapi(route, (c) => c.json(c.req.valid("json"))));
    expect((await app.fetch(post("/strict", '{"name":"Ada"}', "application/json"))).status).toBe(200);
    expect((await app.fetch(post("/strict", null))).status).toBe(422);
  });

  it("sends invalid input to the app's handler (here 422 with the field paths), never to the route", async () => {
    let reached = false;
    const app = appWith((a) =>
      a.openapi(bodyRoute(true), (c) => {
        reached = true;
        return c.json({});
      }),
    );
    const res = await app.fetch(post("/things", '{"name":"","role":"admin"}', "application/json"));
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("name");
    expect(reached).toBe(false);
  });

  it("answers 415 for an undeclared media type, and for a body sent without any Content-Type", async () => {
    const app = appWith((a) => a.openapi(bodyRoute(false), (c) => c.json({ ok: true })));
    expect((await app.fetch(post("/things", "name=Ada", "text/plain"))).status).toBe(415);
    expect((await app.fetch(post("/things", '{"name":"Ada"}'))).status).toBe(415);
  });

  it("lets an optional body be absent (validated as {}), and still validates one that is sent", async () => {
    const Optional = z.object({ name: z.string().optional() }).strict();
    const route = defineRoute({
      method: "post",
      path: "/maybe",
      request: { body: { content: { "application/json": { schema: Optional } } } },
      responses: { 200: { description: "ok" } },
    });
    const app = appWith((a) => a.openapi(route, (c) => c.json(c.req.valid("json"))));
    const empty = await app.fetch(post("/maybe", null));
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({});
    expect((await app.fetch(post("/maybe", '{"name":1}', "application/json"))).status).toBe(422);
  });

  it("validates query and path parameters, with `{id}` routed as `:id`", async () => {
    const route = defineRoute({
      method: "get",
      path: "/items/{id}",
      request: {
        params: z.object({ id: z.string().regex(/^\d+$/) }),
        query: z.object({ full: z.enum(["yes", "no"]).optional() }),
      },
      responses: { 200: { description: "ok" } },
    });
    expect(route.getRoutingPath()).toBe("/items/:id");
    expect(Object.keys(route)).not.toContain("getRoutingPath");
    const app = appWith((a) =>
      a.openapi(route, (c) => c.json({ ...c.req.valid("param"), ...c.req.valid("query") })),
    );
    const ok = await app.fetch(new Request("https://api.example.test/items/42?full=yes"));
    expect(await ok.json()).toEqual({ id: "42", full: "yes" });
    expect((await app.fetch(new Request("https://api.example.test/items/x"))).status).toBe(422);
    expect((await app.fetch(new Request("https://api.example.test/items/42?full=maybe"))).status).toBe(422);
  });

  it("runs the route's own middleware before its validators", async () => {
    const order: string[] = [];
    const route = defineRoute({
      ...bodyRoute(true),
      middleware: [
        async (_c, next) => {
          order.push("middleware");
          await next();
        },
      ],
    });
    const app = appWith((a) =>
      a.openapi(route, (c) => {
        order.push("handler");
        return c.json({});
      }),
    );
    await app.fetch(post("/things", '{"name":""}', "application/json"));
    expect(order).toEqual(["middleware"]);
  });

  it("records each route for the document without its middleware, and not a hidden one", () => {
    const app = appWith((a) => {
      a.openapi({ ...bodyRoute(true), middleware: [async (_c, next) => next()] }, (c) => c.json({}));
      a.openapi(
        defineRoute({
          method: "get",
          path: "/secret",
          hide: true,
          responses: { 200: { description: "ok" } },
        }),
        (c) => c.json({}, 200),
      );
      a.registerComponent("securitySchemes", "opsToken", { type: "http", scheme: "bearer" });
    });
    expect(app.openApiDefinitions).toHaveLength(2);
    const [route, component] = app.openApiDefinitions;
    expect(route).toMatchObject({ type: "route", route: { method: "post", path: "/things" } });
    expect(route?.type === "route" && "middleware" in route.route).toBe(false);
    expect(component).toEqual({
      type: "component",
      componentType: "securitySchemes",
      name: "opsToken",
      component: { type: "http", scheme: "bearer" },
    });
  });
});
