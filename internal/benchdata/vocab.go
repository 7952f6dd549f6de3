package benchdata

// The strings below are the kind real services and instrumentations write:
// their lengths matter for memory figures as much as their content.

type service struct {
	name, version, lang, sdk, host string
	llm                            bool // makes LLM calls
}

var traceServices = []service{
	{"chat-api", "2.14.3", "python", "1.36.0", "chat-api-7d9f8b6c4-x2lqp", true},
	{"support-bot", "0.9.12", "nodejs", "2.0.1", "support-bot-5c6d7f9b8-qh4zn", true},
	{"checkout-api", "5.2.0", "java", "1.52.0", "checkout-api-6b8c9d7f5-m9k2p", false},
	{"search-svc", "1.31.7", "go", "1.37.0", "search-svc-84f7c9d6b-zt7wv", false},
}

var regions = []string{"us-east-1", "eu-west-1", "us-west-2"}

var httpRoutes = []string{
	"/api/v1/chat", "/api/v1/conversations/{id}/messages", "/api/v1/orders/{id}", "/api/v1/cart",
	"/api/v2/search", "/api/v1/users/{id}/profile", "/checkout", "/api/v1/products/{sku}",
}

var userAgents = []string{
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"python-httpx/0.27.0",
	"okhttp/4.12.0",
}

var downstreams = []string{
	"inventory.internal", "payments.internal", "users.internal", "search.internal", "pricing.internal",
}

var dbs = []struct{ system, namespace, op, collection, query string }{
	{"postgresql", "orders", "SELECT", "orders", "SELECT o.id, o.status, o.total_cents, o.created_at FROM orders o WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT $2"},
	{"postgresql", "chat", "INSERT", "messages", "INSERT INTO messages (conversation_id, role, content, created_at) VALUES ($1, $2, $3, now()) RETURNING id"},
	{"postgresql", "chat", "SELECT", "conversations", "SELECT id, user_id, title, updated_at FROM conversations WHERE id = $1"},
	{"mysql", "catalog", "SELECT", "products", "SELECT sku, name, price_cents, stock FROM products WHERE sku IN (?, ?, ?, ?) AND active = 1"},
	{"redis", "0", "GET", "", "GET session:{id}"},
	{"mongodb", "profiles", "find", "users", `{"find":"users","filter":{"_id":"?"},"limit":1}`},
}

var codeFunctions = []string{
	"app.handlers.chat.post_message", "app.services.orders.OrderService.list_for_customer",
	"com.example.checkout.CartController.checkout", "search.(*Server).Query",
}

// The models people ask for, and the dated ones that answer.
var models = []struct{ provider, request, response, server string }{
	{"openai", "gpt-4o", "gpt-4o-2024-08-06", "api.openai.com"},
	{"openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "api.openai.com"},
	{"openai", "gpt-4.1", "gpt-4.1-2025-04-14", "api.openai.com"},
	{"openai", "o3-mini", "o3-mini-2025-01-31", "api.openai.com"},
	{"anthropic", "claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022", "api.anthropic.com"},
	{"anthropic", "claude-sonnet-4-0", "claude-sonnet-4-20250514", "api.anthropic.com"},
	{"gcp.gemini", "gemini-2.0-flash", "gemini-2.0-flash-001", "generativelanguage.googleapis.com"},
	{"aws.bedrock", "meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", "bedrock-runtime.us-east-1.amazonaws.com"},
}

var finishReasons = []string{"stop", "stop", "stop", "length", "tool_calls"}

var prompts = []string{
	`[{"role":"system","content":"You are a helpful support assistant for ACME. Answer briefly."},{"role":"user","content":"How do I reset my password?"}]`,
	`[{"role":"system","content":"You summarise order histories."},{"role":"user","content":"What did I order last month and has it shipped yet?"}]`,
	`[{"role":"user","content":"Write a short apology email to a customer whose package arrived damaged, offering a replacement."}]`,
}

var answers = []string{
	`Go to Settings > Security, choose "Reset password" and follow the link we email you. The link is valid for 30 minutes.`,
	`You placed two orders in May: a kettle (delivered May 14) and a set of mugs, which shipped on May 29 and should arrive tomorrow.`,
	`Dear customer, we are sorry your order arrived damaged. A replacement is on its way at no cost; you do not need to return the original.`,
}

var feedbackServices = []service{
	{"chat-ui", "3.8.0", "python", "1.36.0", "chat-ui-5f7b9c8d6-h2kx9", false},
	{"support-widget", "1.12.4", "nodejs", "2.0.1", "support-widget-6d9c7b5f4-p8w3r", false},
}

var categories = []string{"informative", "inaccurate", "helpful", "off-topic", "incomplete", "harmful"}

var feedbackMessages = []string{
	"Helpful",
	"Wrong answer",
	"This was exactly what I needed, thanks!",
	"It cited a return policy that does not exist.",
	"The answer is outdated: the pricing page changed last week and the bot still quotes the old plans.",
	"Too long. I asked a yes/no question and got four paragraphs.",
	"It told me my order shipped, but the tracking page says it is still being packed. Please check which system the assistant reads from, because this is the second time.",
	"Perfect",
	"Did not answer the question about refunds for annual plans; it only talked about monthly plans and then suggested I contact support, which is what I was doing.",
}

var pages = []string{"/chat", "/help/orders", "/account/billing", "/support"}

var plans = []string{"free", "pro", "team", "enterprise"}

var logMessages = []string{
	"request completed",
	"cache miss for key user:profile",
	"retrying call to payments.internal after timeout (attempt 2 of 3)",
	"order state changed from PENDING to PAID",
	"slow query detected: 412ms on orders.list_for_customer",
	"user session refreshed",
	"failed to parse webhook payload: unexpected end of JSON input",
	"connection pool exhausted; waiting for a free connection",
	"feature flag new-checkout evaluated to true for tenant acme-eu",
}

var otherEvents = []string{"session.start", "browser.web_vital", "device.app.lifecycle", "gen_ai.client.inference.operation.details"}
