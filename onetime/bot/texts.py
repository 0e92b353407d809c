"""Everything the bot says. The bot speaks Russian, like the product's Telegram audience."""

CODE = "🔑 Ваш код: {code}\n⏰ Действителен до: {until} (МСК)"

HELP = (
    "Я выдаю временные коды, которыми вы подтверждаете на сайте, что этот аккаунт Telegram "
    "принадлежит вам.\n\n"
    "/code — получить код (действует {minutes} мин.; повторный запрос вернёт тот же код, "
    "пока он действует)\n"
    "/help — эта справка\n\n"
    "Никому не сообщайте код, кроме сайта, на котором входите."
)

GROUP_CHAT = (
    "🔒 Коды выдаются только в личном чате. Напишите мне в личные сообщения и отправьте /code."
)

UNAVAILABLE = "⚠️ Сервис временно недоступен, попробуйте позже."

GENERATION_FAILED = "⚠️ Не удалось создать код. Попробуйте ещё раз через минуту."

# Notifications to a secret's sender (bot/outbox.py): the id's first 8 characters, what
# happened and when; never the secret. {when} is NOTIFY_WHEN_TODAY when it happened on the
# day of delivery in Moscow, otherwise NOTIFY_WHEN_OTHER_DAY.
NOTIFY_READ = "👁 Секрет {prefix} прочитан {when}."
NOTIFY_EXPIRED = "⌛ Секрет {prefix} истёк непрочитанным {when}."
NOTIFY_BURNED = "🔥 Секрет {prefix} уничтожен отправителем {when}."
NOTIFY_LOCKED = "🔒 Секрет {prefix} уничтожен после неверных попыток {when}."
NOTIFY_WHEN_TODAY = "в {time} (МСК)"
NOTIFY_WHEN_OTHER_DAY = "{date} в {time} (МСК)"
