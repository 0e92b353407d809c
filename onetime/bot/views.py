"""The Telegram webhook: Telegram POSTs each update here."""

import hmac
import json
import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from onetime.bot import client
from onetime.bot.handlers import reply_to

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """
    Answer an update with the reply as a Bot API method call in the response body, which
    Telegram executes: no second HTTP request per update, except for a message that held a
    secret, deleted first with a call of our own (the body holds one method only, and the
    reply says whether the delete worked).
    """
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    if not expected:
        raise Http404
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"status": "forbidden"}, status=403)
    try:
        update = json.loads(request.body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return JsonResponse({"status": "invalid_json"}, status=400)
    if not isinstance(update, dict):
        return JsonResponse({"status": "invalid_update"}, status=400)
    reply = reply_to(update)
    if reply is None:
        return HttpResponse(status=200)
    deleted = True
    if reply.delete_message_id is not None:
        deleted = client.delete_message(chat_id=reply.chat_id, message_id=reply.delete_message_id)
    return JsonResponse(
        {
            "method": "sendMessage",
            "chat_id": reply.chat_id,
            "text": reply.text_after_delete(deleted=deleted),
            "protect_content": reply.protect_content,
        },
        json_dumps_params={"ensure_ascii": False},
    )
