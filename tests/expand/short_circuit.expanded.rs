use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
#[allow(non_camel_case_types)]
struct is_valid {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for is_valid {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for is_valid {
    #[inline]
    fn clone(&self) -> is_valid {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for is_valid {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for is_valid {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "is_valid")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for is_valid {
    #[inline]
    fn default() -> is_valid {
        is_valid {}
    }
}
///Names activity `is_valid`: pass it to `ctx.call` and `.activity(..)`.
fn is_valid() -> is_valid {
    is_valid {}
}
impl is_valid {
    ///Runs the body of activity `is_valid` directly, outside any orchestration.
    async fn run(x: u64) -> Result<bool, ActivityError> {
        Ok(x % 2 == 0)
    }
}
impl ::durable::Activity for is_valid {
    type Input = u64;
    type Output = <Result<bool, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<bool, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "is_valid";
    fn execute(
        ctx: ::durable::ActivityContext,
        input: Self::Input,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send {
        let _ = ctx;
        Self::run(input)
    }
}
#[allow(non_camel_case_types)]
struct price {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for price {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for price {
    #[inline]
    fn clone(&self) -> price {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for price {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for price {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "price")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for price {
    #[inline]
    fn default() -> price {
        price {}
    }
}
///Names activity `price`: pass it to `ctx.call` and `.activity(..)`.
fn price() -> price {
    price {}
}
impl price {
    ///Runs the body of activity `price` directly, outside any orchestration.
    async fn run(x: u64) -> Result<u64, ActivityError> {
        Ok(x * 3)
    }
}
impl ::durable::Activity for price {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "price";
    fn execute(
        ctx: ::durable::ActivityContext,
        input: Self::Input,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send {
        let _ = ctx;
        Self::run(input)
    }
}
#[allow(non_camel_case_types)]
struct quote {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for quote {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for quote {
    #[inline]
    fn clone(&self) -> quote {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for quote {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for quote {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "quote")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for quote {
    #[inline]
    fn default() -> quote {
        quote {}
    }
}
///Names orchestration `quote`: pass it to `.orchestration(..)`, `client.start` and `ctx.sub_orchestration`.
fn quote() -> quote {
    quote {}
}
impl ::durable::Orchestration for quote {
    type Input = Vec<u64>;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    const NAME: &'static str = "quote";
    const VERSION: u32 = 1u32;
    const MIGRATES_FROM: &'static [u32] = &[];
    fn step(
        ctx: &::durable::OrchestrationContext,
        input: ::durable::StepInput<'_>,
    ) -> ::core::result::Result<::durable::Step, ::durable::StepError> {
        #[allow(unreachable_code, unused_mut, unused_braces, clippy::needless_return)]
        fn __machine(
            __ctx: &::durable::OrchestrationContext,
            __step: &mut ::durable::__private::StepIo<'_>,
        ) -> <Result<u64, ActivityError> as ::durable::__private::Outcome>::Machine {
            let ctx: OrchestrationContext = ::core::clone::Clone::clone(__ctx);
            let mut __s_sum = ::durable::__private::Slot::new();
            let mut __s_iter_866b6a09 = ::durable::__private::Slot::new();
            let mut __s_item = ::durable::__private::Slot::new();
            let mut __s_v_8b9a41b8 = ::durable::__private::Slot::new();
            let mut __w1 = ::durable::__private::Slot::new();
            let mut __w2 = ::durable::__private::Slot::new();
            static __P1: ::durable::__private::Point = ::durable::__private::Point::new(
                11776457195120555277u64,
                "../../../../tests/expand/short_circuit.rs",
                "ctx.call(is_valid, item) at line 17:50",
                &["sum", "__iter_866b6a09", "item"],
            );
            static __P2: ::durable::__private::Point = ::durable::__private::Point::new(
                5552650429090787851u64,
                "../../../../tests/expand/short_circuit.rs",
                "ctx.call(price, item) at line 18:42",
                &["sum", "__iter_866b6a09", "item"],
            );
            let mut __pc: u32 = match __step.point() {
                ::core::option::Option::None => 0u32,
                ::core::option::Option::Some(11776457195120555277u64) => 2u32,
                ::core::option::Option::Some(5552650429090787851u64) => 4u32,
                ::core::option::Option::Some(_) => {
                    return ::core::result::Result::Ok(
                        ::durable::__private::Flow::Fault(__step.unknown_point()),
                    );
                }
            };
            let mut __fault = ::core::option::Option::None;
            '__durable: loop {
                match __pc {
                    0u32 => {
                        let ::core::option::Option::Some(__input) = ::durable::__private::ok(
                            &mut __fault,
                            __step.input(),
                        ) else {
                            break '__durable;
                        };
                        let items: Vec<u64> = __input;
                        let mut sum = 0;
                        let mut __iter_866b6a09 = {
                            #[allow(unused_imports)]
                            use ::durable::__private::iter::{
                                CollectKind as _, LazyKind as _,
                            };
                            match ::durable::__private::iter::IterKind(
                                ::core::iter::IntoIterator::into_iter(items),
                            ) {
                                kind => {
                                    #[allow(clippy::needless_borrow)]
                                    let tag = (&&kind).durable_iter_kind();
                                    tag.saved(kind.0)
                                }
                            }
                        };
                        let ::core::option::Option::Some(()) = ::durable::__private::ok(
                            &mut __fault,
                            ::durable::__private::iter::started(&__iter_866b6a09),
                        ) else {
                            break '__durable;
                        };
                        {
                            __s_sum.put(sum);
                            __s_iter_866b6a09.put(__iter_866b6a09);
                            __pc = 1u32;
                            continue '__durable;
                        }
                    }
                    1u32 => {
                        let mut __iter_866b6a09 = __s_iter_866b6a09.take();
                        let __v_8b9a41b8;
                        let ::core::option::Option::Some(__next) = ::durable::__private::ok(
                            &mut __fault,
                            ::durable::__private::iter::next(&mut __iter_866b6a09, __ctx),
                        ) else {
                            break '__durable;
                        };
                        match __next {
                            ::core::option::Option::Some(item) => {
                                if item > 10 {
                                    {
                                        let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                            &mut __fault,
                                            ::durable::__private::schedule(
                                                __ctx,
                                                ctx.call(is_valid, item),
                                            ),
                                        ) else {
                                            break '__durable;
                                        };
                                        __w1.put(__scheduled);
                                        let ::core::option::Option::Some(()) = ::durable::__private::ok(
                                            &mut __fault,
                                            ::durable::__private::iter::park(
                                                &mut __iter_866b6a09,
                                                __ctx,
                                            ),
                                        ) else {
                                            break '__durable;
                                        };
                                        __s_iter_866b6a09.put(__iter_866b6a09);
                                        __s_item.put(item);
                                        return ::core::result::Result::Ok(
                                            __step
                                                .suspend(
                                                    &__P1,
                                                    &__w1,
                                                    &mut [
                                                        ::durable::__private::persist(&mut __s_sum),
                                                        ::durable::__private::persist(&mut __s_iter_866b6a09),
                                                        ::durable::__private::persist(&mut __s_item),
                                                    ],
                                                ),
                                        );
                                    }
                                } else {
                                    __v_8b9a41b8 = false;
                                    {
                                        __s_iter_866b6a09.put(__iter_866b6a09);
                                        __s_item.put(item);
                                        __s_v_8b9a41b8.put(__v_8b9a41b8);
                                        __pc = 3u32;
                                        continue '__durable;
                                    }
                                }
                            }
                            ::core::option::Option::None => {
                                __pc = 6u32;
                                continue '__durable;
                            }
                        }
                    }
                    2u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P1,
                                    &mut __w1,
                                    &mut [
                                        ::durable::__private::persist(&mut __s_sum),
                                        ::durable::__private::persist(&mut __s_iter_866b6a09),
                                        ::durable::__private::persist(&mut __s_item),
                                    ],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_0bcd7934 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_sum),
                                                ::durable::__private::persist(&mut __s_iter_866b6a09),
                                                ::durable::__private::persist(&mut __s_item),
                                            ],
                                        ),
                                );
                            }
                        };
                        let __v_8b9a41b8;
                        __v_8b9a41b8 = __r_0bcd7934?;
                        {
                            __s_v_8b9a41b8.put(__v_8b9a41b8);
                            __pc = 3u32;
                            continue '__durable;
                        }
                    }
                    3u32 => {
                        let __v_8b9a41b8 = __s_v_8b9a41b8.take();
                        let item = __s_item.take();
                        if __v_8b9a41b8 {
                            {
                                let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::schedule(__ctx, ctx.call(price, item)),
                                ) else {
                                    break '__durable;
                                };
                                __w2.put(__scheduled);
                                let ::core::option::Option::Some(()) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::iter::park_saved(
                                        &mut __s_iter_866b6a09,
                                        __ctx,
                                    ),
                                ) else {
                                    break '__durable;
                                };
                                __s_item.put(item);
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P2,
                                            &__w2,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_sum),
                                                ::durable::__private::persist(&mut __s_iter_866b6a09),
                                                ::durable::__private::persist(&mut __s_item),
                                            ],
                                        ),
                                );
                            }
                        } else {
                            {
                                __pc = 5u32;
                                continue '__durable;
                            }
                        }
                    }
                    4u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P2,
                                    &mut __w2,
                                    &mut [
                                        ::durable::__private::persist(&mut __s_sum),
                                        ::durable::__private::persist(&mut __s_iter_866b6a09),
                                        ::durable::__private::persist(&mut __s_item),
                                    ],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_058e64e7 = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P2,
                                            &__w2,
                                            &mut [
                                                ::durable::__private::persist(&mut __s_sum),
                                                ::durable::__private::persist(&mut __s_iter_866b6a09),
                                                ::durable::__private::persist(&mut __s_item),
                                            ],
                                        ),
                                );
                            }
                        };
                        let mut sum = __s_sum.take();
                        let item = __s_item.take();
                        sum += __r_058e64e7? + item;
                        {
                            __s_sum.put(sum);
                            __pc = 5u32;
                            continue '__durable;
                        }
                    }
                    5u32 => {
                        __pc = 1u32;
                        continue '__durable;
                    }
                    6u32 => {
                        let mut sum = __s_sum.take();
                        return ::durable::__private::done(Ok(sum));
                    }
                    _ => break '__durable,
                }
            }
            __step.fault(__fault)
        }
        ::durable::__private::drive::<Self, _>(ctx, input, __machine)
    }
}
