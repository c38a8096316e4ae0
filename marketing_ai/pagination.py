from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`{count, next, previous, results}`; `?page=` and `?pageSize=` (max 500)."""

    page_size_query_param = "pageSize"
    max_page_size = 500
